//! The writer handlebars renders into: it counts bytes and checks the clock on
//! every write, and fails the render once the budget is spent, so a template
//! that expands without bound stops at the limit instead of growing until the
//! process aborts.

use std::io;
use std::time::Instant;

use super::limits::{LimitError, RenderBudget};

pub struct BudgetOutput {
    buf: Vec<u8>,
    budget: RenderBudget,
    started: Instant,
    /// Why the render was stopped, read back after handlebars returns its
    /// (generic I/O) error.
    pub exceeded: Option<LimitError>,
}

impl BudgetOutput {
    pub fn new(budget: RenderBudget) -> Self {
        Self {
            buf: Vec::new(),
            budget,
            started: Instant::now(),
            exceeded: None,
        }
    }

    /// The text written; handlebars writes only `&str` segments.
    pub fn into_string(self) -> String {
        String::from_utf8(self.buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

impl io::Write for BudgetOutput {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buf.len() + bytes.len() > self.budget.max_bytes {
            self.exceeded = Some(LimitError::OutputTooLarge {
                limit: self.budget.max_bytes,
            });
        } else if self.started.elapsed() > self.budget.max_time {
            self.exceeded = Some(LimitError::RenderTooSlow {
                limit_ms: self.budget.max_time.as_millis(),
            });
        }
        if let Some(e) = &self.exceeded {
            return Err(io::Error::other(e.to_string()));
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    #[test]
    fn stops_at_the_byte_budget() {
        let mut out = BudgetOutput::new(RenderBudget {
            max_bytes: 4,
            max_time: Duration::from_secs(5),
        });
        out.write_all(b"abc").unwrap();
        assert!(out.write_all(b"de").is_err());
        assert_eq!(out.exceeded, Some(LimitError::OutputTooLarge { limit: 4 }));
        assert_eq!(out.into_string(), "abc");
    }
}
