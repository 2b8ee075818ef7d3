//! The same, with `move`: the first client's thread takes the table with it,
//! and the loop has none left for the next client. Rust refuses.
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:9999")?;
    let mut clients: HashMap<SocketAddr, TcpStream> = HashMap::new();
    loop {
        let (stream, peer) = listener.accept()?;
        clients.insert(peer, stream);
        thread::spawn(move || {
            for mut client in clients.values() {
                let _ = client.write_all(b"hello, everyone\n");
            }
        });
    }
}
