//! An Arc lets every thread own the table, but not change it.
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:9999")?;
    let clients: Arc<HashMap<SocketAddr, TcpStream>> = Arc::default();
    loop {
        let (stream, peer) = listener.accept()?;
        clients.insert(peer, stream);
        let clients = Arc::clone(&clients);
        thread::spawn(move || {
            for mut client in clients.values() {
                let _ = client.write_all(b"hello, everyone\n");
            }
        });
    }
}
