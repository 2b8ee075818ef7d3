//! Rc and RefCell share and mutate, on one thread only.
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::thread;

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:9999")?;
    let clients: Rc<RefCell<HashMap<SocketAddr, TcpStream>>> = Rc::default();
    loop {
        let (stream, peer) = listener.accept()?;
        clients.borrow_mut().insert(peer, stream);
        let clients = Rc::clone(&clients);
        thread::spawn(move || {
            for mut client in clients.borrow().values() {
                let _ = client.write_all(b"hello, everyone\n");
            }
        });
    }
}
