//! Chunked framing: how message bodies travel over the stream.
//!
//! Each body is cut into chunks, each a big-endian u16 length and that many bytes, and ends with
//! the empty chunk `00 00`. An empty chunk between messages is a NOOP (a keep-alive since Bolt
//! 4.1) and is skipped. [`Dechunker`] reassembles bodies from reads of any size and split,
//! refusing a body over its limit before it buffers it; [`write_message`] frames one body.
//!
//! ```
//! use tagroute::bolt::chunk::{self, Dechunker};
//!
//! let mut wire = vec![0x00, 0x00]; // a NOOP
//! chunk::write_message(&[0xB0, 0x02], &mut wire); // GOODBYE
//! assert_eq!(wire, [0x00, 0x00, 0x00, 0x02, 0xB0, 0x02, 0x00, 0x00]);
//!
//! let mut dechunker = Dechunker::new(1024);
//! for byte in &wire {
//!     dechunker.push(std::slice::from_ref(byte)); // one byte at a time
//! }
//! assert_eq!(dechunker.next_message()?, Some(&[0xB0, 0x02][..]));
//! assert_eq!(dechunker.next_message()?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

/// The largest chunk this crate writes (the u16 maximum).
pub const MAX_CHUNK: usize = u16::MAX as usize;

/// Appends `body` to `out` as chunks of at most [`MAX_CHUNK`] bytes and the end marker `00 00`.
pub fn write_message(body: &[u8], out: &mut Vec<u8>) {
    out.reserve(body.len() + 2 * (body.len() / MAX_CHUNK + 2));
    for chunk in body.chunks(MAX_CHUNK) {
        // `chunks` never yields more than MAX_CHUNK bytes, which fit in a u16.
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&[0, 0]);
}

/// Frames the body that `encode` appends to `out`, without copying it when it fits in one chunk.
///
/// `encode` writes the body straight after a reserved chunk header; a longer body is re-framed.
pub fn write_with<E>(
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let header = out.len();
    out.extend_from_slice(&[0, 0]);
    let result = encode(out);
    let body_len = out.len() - header - 2;
    if result.is_err() {
        out.truncate(header);
        return result;
    }
    match u16::try_from(body_len) {
        Ok(len) if body_len > 0 => {
            if let Some(slot) = out.get_mut(header..header + 2) {
                slot.copy_from_slice(&len.to_be_bytes());
            }
            out.extend_from_slice(&[0, 0]);
        }
        _ => {
            let body = out.split_off(header + 2);
            out.truncate(header);
            write_message(&body, out);
        }
    }
    Ok(())
}

/// Reassembles message bodies from a byte stream.
///
/// Feed it whatever a read returned with [`push`](Dechunker::push), then take every complete
/// body with [`next_message`](Dechunker::next_message) until it returns `None`. It holds at most
/// the bytes pushed and not yet taken plus one body of at most `max_message` bytes.
#[derive(Clone, Debug)]
pub struct Dechunker {
    /// Bytes pushed and not yet consumed start at `read`.
    input: Vec<u8>,
    read: usize,
    /// The body being assembled; taken whole when its end marker arrives.
    message: Vec<u8>,
    /// Bytes left in the current chunk, or `None` between chunks.
    in_chunk: Option<usize>,
    /// Whether the last call returned a body that must be cleared before the next.
    delivered: bool,
    /// Bytes consumed from the stream so far, for error offsets.
    stream_offset: u64,
    max_message: usize,
}

/// Why a stream is not a sequence of chunked messages. The stream cannot be resumed after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkError {
    stream_offset: u64,
    max: usize,
}

impl ChunkError {
    /// The offset in the stream of the chunk header that took the body over the limit.
    pub fn stream_offset(&self) -> u64 {
        self.stream_offset
    }

    /// The limit.
    pub fn max_message(&self) -> usize {
        self.max
    }
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "message over the limit of {} bytes at stream byte {}",
            self.max, self.stream_offset
        )
    }
}

impl std::error::Error for ChunkError {}

impl Dechunker {
    /// A dechunker that refuses bodies over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Dechunker {
            input: Vec::new(),
            read: 0,
            message: Vec::new(),
            in_chunk: None,
            delivered: false,
            stream_offset: 0,
            max_message,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.read == self.input.len() {
            self.input.clear();
            self.read = 0;
        }
        self.input.extend_from_slice(bytes);
    }

    /// Whether bytes of an unfinished message are held (a stream may end only between messages).
    pub fn is_mid_message(&self) -> bool {
        (!self.message.is_empty() && !self.delivered)
            || self.in_chunk.is_some()
            || self.read < self.input.len()
    }

    /// The next complete body, `None` until more bytes are pushed.
    ///
    /// # Errors
    /// A [`ChunkError`] when a body grows over the limit.
    pub fn next_message(&mut self) -> Result<Option<&[u8]>, ChunkError> {
        if std::mem::take(&mut self.delivered) {
            self.message.clear();
        }
        loop {
            let available = self.input.get(self.read..).unwrap_or_default();
            match self.in_chunk {
                Some(left) => {
                    let n = left.min(available.len());
                    self.message
                        .extend_from_slice(available.get(..n).unwrap_or_default());
                    self.consume(n);
                    if n < left {
                        self.in_chunk = Some(left - n);
                        return Ok(None);
                    }
                    self.in_chunk = None;
                }
                None => {
                    let [hi, lo, ..] = *available else {
                        return Ok(None);
                    };
                    let len = usize::from(u16::from_be_bytes([hi, lo]));
                    if len == 0 {
                        self.consume(2);
                        if !self.message.is_empty() {
                            self.delivered = true;
                            return Ok(Some(&self.message));
                        }
                        continue; // a NOOP
                    }
                    if self.message.len() + len > self.max_message {
                        return Err(ChunkError {
                            stream_offset: self.stream_offset,
                            max: self.max_message,
                        });
                    }
                    self.consume(2);
                    self.in_chunk = Some(len);
                }
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.read += n;
        self.stream_offset += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt::testing::hex;

    /// Every body the dechunker yields from `stream` pushed in pieces of `split` bytes.
    fn bodies(stream: &[u8], split: usize, max: usize) -> Result<Vec<Vec<u8>>, ChunkError> {
        let mut dechunker = Dechunker::new(max);
        let mut out = Vec::new();
        for piece in stream.chunks(split) {
            dechunker.push(piece);
            while let Some(body) = dechunker.next_message()? {
                out.push(body.to_vec());
            }
        }
        Ok(out)
    }

    #[test]
    fn a_body_is_cut_into_full_chunks_and_an_end_marker() {
        let body: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        let mut wire = Vec::new();
        write_message(&body, &mut wire);
        assert_eq!(wire.len(), 2 + 65_535 + 2 + 4_465 + 2);
        assert_eq!(&wire[..2], [0xFF, 0xFF]);
        assert_eq!(&wire[65_537..65_539], 4_465u16.to_be_bytes());
        assert_eq!(&wire[wire.len() - 2..], [0, 0]);
        assert_eq!(bodies(&wire, wire.len(), 1 << 20).unwrap(), [body]);
    }

    #[test]
    fn noops_are_skipped_and_every_split_gives_the_same_bodies() {
        // NOOP, GOODBYE in two chunks, NOOP, NOOP, RESET.
        let stream = hex("0000 0001 B0 0001 02 0000 0000 0000 0002 B00F 0000");
        let expected = [hex("B0 02"), hex("B0 0F")];
        for split in 1..=stream.len() {
            assert_eq!(
                bodies(&stream, split, 16).unwrap(),
                expected,
                "split {split}"
            );
        }
    }

    #[test]
    fn a_body_over_the_limit_is_refused_at_the_chunk_that_crosses_it() {
        let stream = hex("0002 B00F 0000 0003 B1 70 A0 0002 0102 0000");
        assert_eq!(
            bodies(&stream, stream.len(), 4)
                .unwrap_err()
                .stream_offset(),
            11
        );
        assert_eq!(bodies(&stream, 3, 4).unwrap_err().stream_offset(), 11);
        assert_eq!(bodies(&stream, stream.len(), 5).unwrap().len(), 2);
        let e = bodies(&hex("FFFF"), 2, 1024).unwrap_err();
        assert_eq!(
            e.to_string(),
            "message over the limit of 1024 bytes at stream byte 0"
        );
    }

    #[test]
    fn mid_message_is_known() {
        let mut dechunker = Dechunker::new(64);
        assert!(!dechunker.is_mid_message());
        dechunker.push(&hex("0000 00"));
        assert_eq!(dechunker.next_message().unwrap(), None);
        assert!(dechunker.is_mid_message());
        dechunker.push(&hex("02 B0 02"));
        assert_eq!(dechunker.next_message().unwrap(), None);
        assert!(dechunker.is_mid_message());
        dechunker.push(&hex("0000"));
        assert!(dechunker.next_message().unwrap().is_some());
        assert!(!dechunker.is_mid_message());
    }

    #[test]
    fn write_with_frames_in_place_or_re_frames_a_long_body() {
        let mut out = vec![0xAA];
        write_with(&mut out, |out| {
            out.extend_from_slice(&[1, 2, 3]);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(out, hex("AA 0003 010203 0000"));

        let long = vec![7; 65_536];
        let mut framed = Vec::new();
        write_with(&mut framed, |out| {
            out.extend_from_slice(&long);
            Ok::<(), ()>(())
        })
        .unwrap();
        let mut expected = Vec::new();
        write_message(&long, &mut expected);
        assert_eq!(framed, expected);

        let mut out = vec![0xAA];
        assert_eq!(
            write_with(&mut out, |out| {
                out.push(1);
                Err(())
            }),
            Err(())
        );
        assert_eq!(out, [0xAA]);
    }
}
