//! A socket wrapper that records how far a connection got, so that a failure while the TLS
//! handshake sends its last flight (which carries the PFD request) can be told apart from a
//! failure before the request could have left.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const HEARD_FROM_SERVER: u8 = 1;
const WROTE_AFTER_HEARING: u8 = 2;

/// What a connection has done so far, seen from its socket.
#[derive(Debug, Default)]
pub(crate) struct Progress(AtomicU8);

impl Progress {
    /// Whether the client wrote after the server had answered its first flight: from then
    /// on the request may have left with the handshake's last flight.
    ///
    /// Exact for TLS 1.3 without a retry; after a `HelloRetryRequest`, or in a full TLS 1.2
    /// handshake before the server's `Finished`, it says yes early, which only makes a
    /// failure count as a call that may have been placed (never the other way round).
    pub(crate) fn request_may_have_left(&self) -> bool {
        self.0.load(Ordering::Relaxed) & WROTE_AFTER_HEARING != 0
    }

    fn heard(&self) {
        self.0.fetch_or(HEARD_FROM_SERVER, Ordering::Relaxed);
    }

    fn writing(&self) {
        if self.0.load(Ordering::Relaxed) & HEARD_FROM_SERVER != 0 {
            self.0.fetch_or(WROTE_AFTER_HEARING, Ordering::Relaxed);
        }
    }
}

/// A stream that reports reads and writes to a [`Progress`].
#[derive(Debug)]
pub(crate) struct Tracked<'a, S> {
    inner: S,
    progress: &'a Progress,
}

impl<'a, S> Tracked<'a, S> {
    pub(crate) fn new(inner: S, progress: &'a Progress) -> Self {
        Self { inner, progress }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<'_, S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.progress.heard();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<'_, S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        // Marked before writing: a write that fails may still have sent some bytes.
        self.progress.writing();
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.progress.writing();
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn only_a_write_after_the_server_spoke_may_carry_the_request() {
        let (client, mut server) = tokio::io::duplex(1024);
        let progress = Progress::default();
        let mut tracked = Tracked::new(client, &progress);
        tracked.write_all(b"hello").await.unwrap();
        assert!(!progress.request_may_have_left());
        server.write_all(b"server hello").await.unwrap();
        let mut buf = [0u8; 32];
        assert!(tracked.read(&mut buf).await.unwrap() > 0);
        assert!(!progress.request_may_have_left());
        tracked.write_all(b"finished and request").await.unwrap();
        assert!(progress.request_may_have_left());
    }
}
