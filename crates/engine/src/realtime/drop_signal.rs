//! The one-way "the hub dropped this connection" flag.
//!
//! A connection's task polls it on every wake-up, so at 10,000 connections it is
//! on the fan-out's hot path. A `CancellationToken` takes two mutexes per poll
//! (its tree node and its `Notify`); this is an atomic load and a lock-free waker
//! registration. It has exactly one waiter, the task that owns the connection's
//! queue, which is the only task that ever awaits it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

#[derive(Debug, Default)]
pub struct DropSignal {
    set: AtomicBool,
    waker: AtomicWaker,
}

impl DropSignal {
    /// Marks the connection dropped and wakes its task.
    pub fn cancel(&self) {
        self.set.store(true, Ordering::Release);
        self.waker.wake();
    }

    pub fn is_cancelled(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Completes once `cancel` has been called (at once if it already was). Await
    /// it from the connection's own task only: a second waiting task would take
    /// the first one's place and leave it asleep.
    pub fn cancelled(&self) -> Dropped<'_> {
        Dropped(self)
    }
}

/// The future of `DropSignal::cancelled`; it can be polled again after it
/// completed, so one instance can sit in a loop's `select!`.
#[derive(Debug)]
pub struct Dropped<'a>(&'a DropSignal);

impl Future for Dropped<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.is_cancelled() {
            return Poll::Ready(());
        }
        self.0.waker.register(cx.waker());
        // Checked again: a `cancel` between the first check and the
        // registration woke nobody.
        if self.0.is_cancelled() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_waiting_task_wakes_when_cancelled() {
        let signal = Arc::new(DropSignal::default());
        let waiter = tokio::spawn({
            let signal = signal.clone();
            async move { signal.cancelled().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "completed before cancel");
        signal.cancel();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter was not woken")
            .expect("the waiter panicked");
        assert!(signal.is_cancelled());
    }

    #[tokio::test]
    async fn completes_at_once_and_again_after_cancel() {
        let signal = DropSignal::default();
        signal.cancel();
        let mut dropped = signal.cancelled();
        (&mut dropped).await;
        // Polled again, as a `select!` in a loop does.
        (&mut dropped).await;
    }

    #[test]
    fn stays_pending_until_cancelled() {
        let signal = DropSignal::default();
        let mut dropped = signal.cancelled();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut dropped).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut dropped).poll(&mut cx).is_pending());
        signal.cancel();
        assert!(Pin::new(&mut dropped).poll(&mut cx).is_ready());
    }
}
