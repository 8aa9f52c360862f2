//! A request body under the ingress's size limit: past the limit it fails
//! with [`BodyTooLarge`] (what runtimes tell the guest) and marks the
//! request, so the ingress answers `413` whatever the guest did next.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use hotswap_core::error::BoxError;
use hotswap_core::runtime::http::BodyTooLarge;

/// Set when a body ran past its limit.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tripped(Arc<AtomicBool>);

impl Tripped {
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// `inner`, failing once more than `limit` bytes of data came through.
pub(crate) struct LimitedBody<B> {
    inner: B,
    left: u64,
    limit: u64,
    tripped: Tripped,
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: u64) -> (Self, Tripped) {
        let tripped = Tripped::default();
        let body = Self {
            inner,
            left: limit,
            limit,
            tripped: tripped.clone(),
        };
        (body, tripped)
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.tripped.is_set() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.left {
                        this.tripped.0.store(true, Ordering::Release);
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge {
                            limit: this.limit,
                        }))));
                    }
                    this.left -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.tripped.is_set() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::{BodyExt, Full};

    #[tokio::test]
    async fn a_body_within_the_limit_passes_and_one_past_it_fails_and_marks() {
        let (ok, tripped) = LimitedBody::new(Full::new(Bytes::from_static(b"12345")), 5);
        assert_eq!(ok.collect().await.unwrap().to_bytes(), "12345");
        assert!(!tripped.is_set());

        let (big, tripped) = LimitedBody::new(Full::new(Bytes::from_static(b"123456")), 5);
        let e = big.collect().await.unwrap_err();
        assert_eq!(
            e.downcast_ref::<BodyTooLarge>(),
            Some(&BodyTooLarge { limit: 5 })
        );
        assert!(tripped.is_set());
    }
}
