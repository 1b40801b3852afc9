//! `#[ply_net::main]` and `#[ply_net::test]`: run an `async fn` on a ply `Runtime`.
//!
//! Use them through ply-net, which re-exports both; this crate only exists because
//! attribute macros must live in a `proc-macro` crate of their own.
//!
//! ```
//! #[ply_net::main(flavor = "current_thread")]
//! async fn main() {
//!     ply_net::sleep(std::time::Duration::from_millis(1)).await;
//! }
//! ```
//!
//! The attribute turns `async fn f(..) -> T { body }` into `fn f(..) -> T` whose body
//! builds a runtime and runs `body` on it with `block_on`. Arguments:
//!
//! - `flavor = "multi_thread"` (the default for `main`) or `"current_thread"` (the default
//!   for `test`, as in tokio: a test is one task's worth of work, and a current-thread
//!   runtime is deterministic);
//! - `worker_threads = N` (multi-threaded only);
//! - `start_paused = true` (`test` only, current-thread only, as in tokio): the runtime's
//!   clock starts paused and auto-advances (`ply_net::Builder::start_paused`).
//!
//! Anything else is a compile error that names the argument:
//!
//! ```compile_fail
//! #[ply_net::main(flavour = "current_thread")] // misspelt: an error, not ignored
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[ply_net::test(worker_threads = 2)] // workers need flavor = "multi_thread"
//! async fn t() {}
//! ```
//!
//! ```compile_fail
//! #[ply_net::test(start_paused = "yes")] // a bool, not a string
//! async fn t() {}
//! ```
//!
//! ```compile_fail
//! #[ply_net::test(flavor = "multi_thread", start_paused = true)] // current-thread only
//! async fn t() {}
//! ```
//!
//! ```compile_fail
//! #[ply_net::main(start_paused = true)] // a test clock is for tests
//! async fn main() {}
//! ```
//!
//! # Implementation
//!
//! Written against `proc_macro` alone (no `syn`/`quote`, so ply adds no dependency): the
//! item's tokens are kept as they are except that the top-level `async` keyword is
//! dropped and the final `{ .. }` body is wrapped. Errors become `compile_error!` calls
//! at the offending tokens.

use proc_macro::{Delimiter, Group, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn main` on a ply `Runtime` (multi-threaded unless
/// `flavor = "current_thread"`).
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Main)
}

/// Runs an `async fn` test on a fresh ply `Runtime` (current-thread unless
/// `flavor = "multi_thread"`).
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Test)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Main,
    Test,
}

struct Config {
    multi: bool,
    workers: Option<u64>,
    start_paused: bool,
}

fn expand(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    let config = match parse_args(args, kind) {
        Ok(c) => c,
        Err((span, msg)) => return compile_error(span, &msg),
    };
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    // The top-level `async` (before `fn`) goes; nested ones stay.
    let Some(pos) = tokens.iter().position(|t| is_ident(t, "async")) else {
        return compile_error(Span::call_site(), "the function must be `async fn`");
    };
    if !tokens[pos..].iter().any(|t| is_ident(t, "fn")) {
        return compile_error(Span::call_site(), "expected an `async fn`");
    }
    tokens.remove(pos);
    let body = match tokens.pop() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g,
        _ => return compile_error(Span::call_site(), "expected a function body"),
    };
    let mut out = TokenStream::new();
    if kind == Kind::Test {
        out.extend(parse("#[::core::prelude::v1::test]"));
    }
    out.extend(tokens);
    let mut builder = String::from("::ply_net::Runtime::builder()");
    if config.multi {
        builder.push_str(".multi_thread()");
        if let Some(n) = config.workers {
            builder.push_str(&format!(".worker_threads({n})"));
        }
    } else {
        builder.push_str(".current_thread()");
    }
    if config.start_paused {
        builder.push_str(".start_paused(true)");
    }
    // `{ <builder>.build().expect(..).block_on(async move { body }) }`
    let mut future = parse("async move");
    let mut block = Group::new(Delimiter::Brace, body.stream());
    block.set_span(body.span());
    future.extend([TokenTree::Group(block)]);
    let mut call = parse(&format!(
        "{builder}.build().expect(\"cannot start the ply runtime\").block_on"
    ));
    call.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, future))]);
    out.extend([TokenTree::Group(Group::new(Delimiter::Brace, call))]);
    out
}

fn parse(s: &str) -> TokenStream {
    s.parse().expect("ply-macros builds valid tokens")
}

fn is_ident(t: &TokenTree, name: &str) -> bool {
    matches!(t, TokenTree::Ident(i) if i.to_string() == name)
}

fn parse_args(args: TokenStream, kind: Kind) -> Result<Config, (Span, String)> {
    let mut config = Config {
        multi: kind == Kind::Main,
        workers: None,
        start_paused: false,
    };
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    for arg in tokens.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
        match arg {
            [] => {}
            [TokenTree::Ident(key), TokenTree::Punct(eq), TokenTree::Ident(value)]
                if eq.as_char() == '=' && key.to_string() == "start_paused" =>
            {
                match value.to_string().as_str() {
                    "true" => config.start_paused = true,
                    "false" => config.start_paused = false,
                    _ => {
                        return Err((
                            value.span(),
                            "start_paused must be `true` or `false`".into(),
                        ))
                    }
                }
            }
            [TokenTree::Ident(key), TokenTree::Punct(eq), TokenTree::Literal(value)]
                if eq.as_char() == '=' =>
            {
                let v = value.to_string();
                match key.to_string().as_str() {
                    "flavor" => match v.as_str() {
                        "\"multi_thread\"" => config.multi = true,
                        "\"current_thread\"" => config.multi = false,
                        _ => {
                            return Err((
                                value.span(),
                                "flavor must be \"multi_thread\" or \"current_thread\"".into(),
                            ))
                        }
                    },
                    "worker_threads" => match v.parse::<u64>() {
                        Ok(n) if n > 0 => config.workers = Some(n),
                        _ => {
                            return Err((
                                value.span(),
                                "worker_threads must be a positive integer".into(),
                            ))
                        }
                    },
                    "start_paused" => {
                        return Err((
                            value.span(),
                            "start_paused must be `true` or `false`".into(),
                        ))
                    }
                    other => {
                        return Err((
                            key.span(),
                            format!(
                                "unknown argument `{other}` (ply's runtime attributes take \
                                 `flavor`, `worker_threads` and, for tests, `start_paused`)"
                            ),
                        ))
                    }
                }
            }
            [first, ..] => {
                return Err((
                    first.span(),
                    "expected `name = value` arguments, e.g. `flavor = \"current_thread\"`".into(),
                ))
            }
        }
    }
    if config.start_paused && kind == Kind::Main {
        return Err((
            Span::call_site(),
            "start_paused is for #[ply_net::test] (a test clock)".into(),
        ));
    }
    if config.start_paused && config.multi {
        return Err((
            Span::call_site(),
            "start_paused needs the current-thread flavor (as in tokio): a paused clock \
             auto-advances only when the one thread running tasks is idle"
                .into(),
        ));
    }
    if config.workers.is_some() && !config.multi {
        return Err((
            Span::call_site(),
            "worker_threads needs flavor = \"multi_thread\"".into(),
        ));
    }
    Ok(config)
}

/// `::core::compile_error!("msg")` at `span`.
fn compile_error(span: Span, msg: &str) -> TokenStream {
    let mut lit = Literal::string(msg);
    lit.set_span(span);
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    let mut out = parse("::core::compile_error");
    out.extend([
        TokenTree::Punct(bang),
        TokenTree::Group(Group::new(
            Delimiter::Parenthesis,
            TokenTree::Literal(lit).into(),
        )),
        TokenTree::Punct(Punct::new(';', Spacing::Alone)),
    ]);
    out
}
