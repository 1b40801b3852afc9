//! The examples' and the bench's one flag parser: `--name value`, `--name=value` and bare
//! `--switch`es, with a clear error (the usage, exit status 2) for a bad value.
//!
//! This file is std-only on purpose: the bench (`bench/`, a workspace of its own) compiles
//! it too (`#[path]` in `bench/src/lib.rs`), so both have one parser.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

/// Prints `message` and the usage text to stderr, then exits with status 2.
pub fn usage_error(usage: &str, message: &str) -> ! {
    eprintln!("error: {message}\n\n{usage}");
    std::process::exit(2);
}

/// The command-line flags of an example, parsed by hand: `--name value`, `--name=value`
/// and bare `--switch`es. `-h`/`--help` prints the usage and exits with status 0.
///
/// Take flags with [`value`](Self::value), [`opt`](Self::opt) and
/// [`switch`](Self::switch), then call [`finish`](Self::finish), which rejects anything
/// left over.
///
/// (Its unit tests show each spelling; this file has no doctests because the bench
/// compiles it too, under another crate name.)
#[derive(Debug)]
pub struct Args {
    usage: &'static str,
    rest: Vec<String>,
}

impl Args {
    /// The process's arguments (without the program name).
    pub fn parse(usage: &'static str) -> Args {
        Args::from_vec(usage, std::env::args().skip(1).collect())
    }

    /// Arguments from a vector (for tests).
    pub fn from_vec(usage: &'static str, args: Vec<String>) -> Args {
        if args.iter().any(|a| a == "-h" || a == "--help") {
            println!("{usage}");
            std::process::exit(0);
        }
        Args { usage, rest: args }
    }

    /// The usage text, for errors found after parsing.
    pub fn usage(&self) -> &'static str {
        self.usage
    }

    /// The value of `flag` parsed as `T`, if the flag is present. Exits with the usage on
    /// a missing or unparsable value.
    pub fn opt<T: FromStr>(&mut self, flag: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.take_raw(flag)?;
        match raw.parse() {
            Ok(v) => Some(v),
            Err(e) => usage_error(self.usage, &format!("{flag} {raw:?}: {e}")),
        }
    }

    /// The value of `flag` parsed as `T`, or `default`.
    pub fn value<T: FromStr>(&mut self, flag: &str, default: T) -> T
    where
        T::Err: std::fmt::Display,
    {
        self.opt(flag).unwrap_or(default)
    }

    /// Whether the bare switch `flag` is present.
    pub fn switch(&mut self, flag: &str) -> bool {
        match self.rest.iter().position(|a| a == flag) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// Exits with the usage if any argument was not taken.
    pub fn finish(self) {
        if let Some(first) = self.rest.first() {
            usage_error(self.usage, &format!("unexpected argument {first:?}"));
        }
    }

    /// Removes `flag` and its value from the arguments and returns the value.
    fn take_raw(&mut self, flag: &str) -> Option<String> {
        let prefix = format!("{flag}=");
        let i = self
            .rest
            .iter()
            .position(|a| a == flag || a.starts_with(&prefix))?;
        let arg = self.rest.remove(i);
        if let Some(v) = arg.strip_prefix(&prefix) {
            return Some(v.to_owned());
        }
        if i < self.rest.len() && !self.rest[i].starts_with("--") {
            return Some(self.rest.remove(i));
        }
        usage_error(self.usage, &format!("{flag} needs a value"))
    }
}

/// A whole number of seconds from the command line, for `--seconds`. Exits with the usage
/// if it is zero or above one day.
pub fn seconds(args: &mut Args, flag: &str, default: Option<u64>) -> Option<Duration> {
    let secs = args.opt::<u64>(flag).or(default)?;
    if !(1..=86_400).contains(&secs) {
        usage_error(args.usage(), &format!("{flag} must be from 1 to 86400"));
    }
    Some(Duration::from_secs(secs))
}

/// A socket address that must be on the loopback interface: the examples never listen or
/// connect elsewhere. Exits with the usage otherwise.
pub fn loopback_addr(args: &mut Args, flag: &str, default: &str) -> SocketAddr {
    let raw: String = args.value(flag, default.to_owned());
    match raw.parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_loopback() => addr,
        Ok(addr) => usage_error(
            args.usage(),
            &format!("{flag} {addr}: the examples use loopback only (127.0.0.1 or [::1])"),
        ),
        Err(e) => usage_error(
            args.usage(),
            &format!("{flag} {raw:?}: {e} (expected IP:PORT, like 127.0.0.1:7000)"),
        ),
    }
}

/// `--threads`: 0 (current-thread) to 256; defaults to the available cores.
pub fn threads(args: &mut Args) -> usize {
    let n = args.value("--threads", default_threads());
    if n > 256 {
        usage_error(args.usage(), "--threads must be from 0 to 256");
    }
    n
}

/// A count from the command line that must lie in `range`.
pub fn count(args: &mut Args, flag: &str, default: usize, range: RangeInclusive<usize>) -> usize {
    let n = args.value(flag, default);
    if !range.contains(&n) {
        usage_error(
            args.usage(),
            &format!("{flag} must be from {} to {}", range.start(), range.end()),
        );
    }
    n
}

/// The default number of workers: the available cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What the experiments and benchmarks print for `--help`: their flags are in the header
/// of their source file.
const FLAGS_IN_HEADER: &str =
    "usage: see the header of this program's source file (src/bin/<name>.rs) for its flags";

/// The value of `flag` on this process's command line (`--flag value` or `--flag=value`),
/// or `default` if the flag is absent. For the experiments and benchmarks, which read
/// their flags one at a time and ignore the ones they do not know; a flag given without
/// a value, or with one that does not parse, exits with status 2 and says so.
pub fn arg_or<T: FromStr>(flag: &str, default: T) -> T
where
    T::Err: std::fmt::Display,
{
    Args::parse(FLAGS_IN_HEADER).value(flag, default)
}

/// Whether the bare switch `flag` (like `--replot`) is on this process's command line.
pub fn arg_switch(flag: &str) -> bool {
    Args::parse(FLAGS_IN_HEADER).switch(flag)
}

/// The value after `--only`, if given: a benchmark or experiment then runs that one
/// contender once (for `valgrind --tool=callgrind` instruction counts).
pub fn only() -> Option<String> {
    let v: String = arg_or("--only", String::new());
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_take_both_spellings_and_switches() {
        let v = ["--a", "1", "--b=2", "--x"].map(String::from).to_vec();
        let mut args = Args::from_vec("u", v);
        assert_eq!(args.value("--a", 0u32), 1);
        assert_eq!(args.value("--b", 0u32), 2);
        assert_eq!(args.value("--c", 7u32), 7);
        assert!(args.switch("--x"));
        assert!(args.rest.is_empty());
    }

    #[test]
    fn absent_flags_take_their_defaults() {
        assert_eq!(arg_or("--no-such-flag", 7usize), 7);
        assert!(!arg_switch("--no-such-switch"));
        assert_eq!(only(), None);
    }
}
