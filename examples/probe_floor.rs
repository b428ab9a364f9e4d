//! The floor under `serve --follow`'s health checks: what the kernel alone charges for asking
//! each of N servers RESET once a second over a kept connection, in 50 slots a second as the
//! health checks do, from one thread with blocking sockets and nothing else (no runtime, no
//! verdicts, no metrics). `interop/bench_follow.py --floor` runs it against the stub cluster and
//! reads its CPU time beside tagroute's.
//!
//! ```text
//! cargo build --release --example probe_floor
//! target/release/examples/probe_floor SECONDS ADDRESSES_FILE
//! ```
//!
//! Each address (one `host:port` a line) gets the Bolt 5.4 handshake and an empty HELLO (the
//! stub does not ask 5.1+ clients to log in before RESET); `ready` is printed when every
//! connection is up, and the count of RESETs answered at the end.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const SLOTS_A_SECOND: u32 = 50;
/// The handshake: the magic, then 5.4 and three empty proposals.
const HANDSHAKE: [u8; 20] = [
    0x60, 0x60, 0xB0, 0x17, 0, 0, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
/// HELLO with an empty map, chunked.
const HELLO: [u8; 7] = [0, 3, 0xB1, 0x01, 0xA0, 0, 0];
/// RESET, chunked.
const RESET: [u8; 6] = [0, 2, 0xB0, 0x0F, 0, 0];

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(seconds), Some(file)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: probe_floor SECONDS ADDRESSES_FILE");
        std::process::exit(2);
    };
    let seconds: u64 = seconds.parse().map_err(io::Error::other)?;
    let mut connections = Vec::new();
    for address in std::fs::read_to_string(file)?.lines() {
        connections.push(connect(address)?);
    }
    println!("ready");
    let per_slot = connections.len().div_ceil(SLOTS_A_SECOND as usize).max(1);
    let step = Duration::from_secs(1) / SLOTS_A_SECOND;
    let (start, mut next, mut answered) = (Instant::now(), Instant::now(), 0u64);
    while start.elapsed() < Duration::from_secs(seconds) {
        for slot in connections.chunks_mut(per_slot) {
            for connection in slot.iter_mut() {
                connection.write_all(&RESET)?;
            }
            for connection in slot.iter_mut() {
                read_message(connection)?;
                answered += 1;
            }
            next += step;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
    println!("{answered} RESETs answered");
    Ok(())
}

fn connect(address: &str) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_nodelay(true)?;
    stream.write_all(&HANDSHAKE)?;
    let mut version = [0; 4];
    stream.read_exact(&mut version)?;
    stream.write_all(&HELLO)?;
    read_message(&mut stream)?;
    Ok(stream)
}

/// Reads one message's chunks, to the empty chunk that ends it.
fn read_message(stream: &mut TcpStream) -> io::Result<()> {
    let mut body = [0; 1024];
    loop {
        let mut size = [0; 2];
        stream.read_exact(&mut size)?;
        let size = usize::from(u16::from_be_bytes(size));
        if size == 0 {
            return Ok(());
        }
        let chunk = body
            .get_mut(..size)
            .ok_or_else(|| io::Error::other("a long chunk"))?;
        stream.read_exact(chunk)?;
    }
}
