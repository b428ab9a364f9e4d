//! A connection's socket: TCP, and TLS over it when the cluster uses it, whose reads and writes
//! never wait. What would block says so ([`io::ErrorKind::WouldBlock`]), and the caller waits
//! with [`Socket::ready`], which registers the socket with the runtime for that wait alone.
//!
//! A socket the runtime watches wakes a thread for every segment that arrives, asked for or
//! not. A kept connection at rest is watched by nobody: a server's answer to a request sent a
//! moment ago waits in the kernel until the caller reads it, so a caller that sends many small
//! requests and reads the answers later (a round of health probes) wakes once, not once per
//! answer.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::ClientConnection;

/// TCP, with TLS over it when asked; nonblocking.
pub(super) struct Socket {
    tcp: TcpStream,
    tls: Option<Box<ClientConnection>>,
}

impl Socket {
    /// A TCP connection, taken from the runtime.
    pub(super) fn plain(tcp: tokio::net::TcpStream) -> io::Result<Socket> {
        Ok(Socket {
            tcp: tcp.into_std()?,
            tls: None,
        })
    }

    /// A TLS connection whose handshake is done, taken from the runtime.
    pub(super) fn tls(stream: TlsStream<tokio::net::TcpStream>) -> io::Result<Socket> {
        let (tcp, session) = stream.into_inner();
        Ok(Socket {
            tcp: tcp.into_std()?,
            tls: Some(Box::new(session)),
        })
    }

    /// Takes as much of `bytes` as it can without waiting; `Ok(0)` only for no bytes.
    pub(super) fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut self.tls {
            None => (&self.tcp).write(bytes),
            Some(tls) => {
                // Records still to send first, so that the session's buffer stays small.
                flush_tls(tls, &self.tcp)?;
                tls.writer().write(bytes)
            }
        }
    }

    /// Sends what [`write`](Self::write) took and TLS still holds.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        match &mut self.tls {
            None => Ok(()),
            Some(tls) => flush_tls(tls, &self.tcp),
        }
    }

    /// Reads what has arrived into `buffer`; `Ok(0)` when the server closed the connection.
    pub(super) fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &mut self.tls else {
            return (&self.tcp).read(buffer);
        };
        loop {
            match tls.reader().read(buffer) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if tls.read_tls(&mut &self.tcp)? == 0 {
                return Ok(0);
            }
            tls.process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            // What the session answers by itself (an alert, a key update) goes out when it can.
            match flush_tls(tls, &self.tcp) {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
    }

    /// Waits until the socket is ready for `interest`, watched by the runtime meanwhile only.
    pub(super) async fn ready(&self, interest: Interest) -> io::Result<()> {
        // SAFETY: registering a descriptor asks that it stay open, and name the same socket,
        // until the registration is dropped. `watched` borrows `self.tcp` (a `BorrowedFd`),
        // so the socket outlives it, and it is dropped when this future ends or is dropped.
        let watched = unsafe { AsyncFd::register_with_interest(self.tcp.as_fd(), interest) }
            .map_err(io::Error::from)?;
        let _ready = watched.ready(interest).await?;
        Ok(())
    }

    /// Whether TLS holds records that [`flush`](Self::flush) could not send yet.
    pub(super) fn wants_write(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.wants_write())
    }

    /// Says the TLS goodbye, when TLS, and shuts the writing half: the server closes.
    pub(super) fn shutdown(&mut self) {
        if let Some(tls) = &mut self.tls {
            tls.send_close_notify();
            let _ = flush_tls(tls, &self.tcp);
        }
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
    }
}

/// Sends the TLS records `tls` holds, without waiting.
fn flush_tls(tls: &mut ClientConnection, mut tcp: &TcpStream) -> io::Result<()> {
    while tls.wants_write() {
        if tls.write_tls(&mut tcp)? == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
    }
    Ok(())
}
