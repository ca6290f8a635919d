//! Failed sign-ins slow an attacker down before bcrypt's cost does: a name that failed
//! [`FAILURES_PER_NAME`] times within [`WINDOW`] is refused until the window has passed, and so
//! is an address that failed [`FAILURES_PER_ADDRESS`] times (for names tried one after another).
//! Refused attempts do not reach the password check. Kept in memory, per server process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) const WINDOW: Duration = Duration::from_secs(15 * 60);
pub(crate) const FAILURES_PER_NAME: u32 = 5;
/// Higher than per name: behind a proxy every user shares one address.
pub(crate) const FAILURES_PER_ADDRESS: u32 = 30;
/// Past this many tracked keys, expired ones are dropped on the next failure.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Default)]
pub(crate) struct SignInThrottle {
    failures: Mutex<HashMap<Key, Failures>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Name(String),
    Address(IpAddr),
}

struct Failures {
    count: u32,
    since: Instant,
}

impl SignInThrottle {
    /// `Err(wait)` when this name or address must wait before trying again.
    pub(crate) fn check(
        &self,
        username: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Duration> {
        let failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut wait = Duration::ZERO;
        for (key, limit) in keys(username, address) {
            if let Some(entry) = failures.get(&key)
                && entry.count >= limit
            {
                wait = wait.max(WINDOW.saturating_sub(now.duration_since(entry.since)));
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    pub(crate) fn record_failure(&self, username: &str, address: Option<IpAddr>, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, entry| now.duration_since(entry.since) < WINDOW);
        }
        for (key, _) in keys(username, address) {
            let entry = failures.entry(key).or_insert(Failures { count: 0, since: now });
            if now.duration_since(entry.since) >= WINDOW {
                *entry = Failures { count: 0, since: now };
            }
            entry.count += 1;
        }
    }

    /// A successful sign-in forgets the name's failures (not the address's).
    pub(crate) fn record_success(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(&Key::Name(username.to_lowercase()));
    }
}

fn keys(username: &str, address: Option<IpAddr>) -> Vec<(Key, u32)> {
    let mut keys = vec![(Key::Name(username.to_lowercase()), FAILURES_PER_NAME)];
    if let Some(address) = address {
        keys.push((Key::Address(address), FAILURES_PER_ADDRESS));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));

    #[test]
    fn a_name_waits_after_its_failures_until_the_window_passes() {
        let throttle = SignInThrottle::default();
        let start = Instant::now();
        for _ in 0..FAILURES_PER_NAME {
            assert_eq!(throttle.check("Alice", HOME, start), Ok(()));
            throttle.record_failure("Alice", HOME, start);
        }
        assert_eq!(
            throttle.check("alice", None, start + Duration::from_secs(60)),
            Err(WINDOW - Duration::from_secs(60))
        );
        assert_eq!(throttle.check("bob", HOME, start), Ok(()), "another name from the same address");
        assert_eq!(throttle.check("alice", HOME, start + WINDOW), Ok(()));
        // A new window starts from the next failure.
        throttle.record_failure("alice", HOME, start + WINDOW);
        assert_eq!(throttle.check("alice", HOME, start + WINDOW), Ok(()));
    }

    #[test]
    fn an_address_trying_many_names_waits_too() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        for attempt in 0..FAILURES_PER_ADDRESS {
            throttle.record_failure(&format!("user{attempt}"), HOME, now);
        }
        assert!(throttle.check("someone-else", HOME, now).is_err());
        assert_eq!(throttle.check("someone-else", None, now), Ok(()));
    }

    #[test]
    fn success_clears_the_names_failures() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        for _ in 0..FAILURES_PER_NAME - 1 {
            throttle.record_failure("carol", HOME, now);
        }
        throttle.record_success("Carol");
        throttle.record_failure("carol", HOME, now);
        assert_eq!(throttle.check("carol", HOME, now), Ok(()));
    }
}
