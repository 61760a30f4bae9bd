//! The log's one way out. Every line goes through the subscriber built here, so values that
//! came from outside (a `provider` in a query, a network's `error_msg`, a path) are escaped
//! in one place rather than at each call site: a CR, LF or ESC in them cannot start a forged
//! line or drive a terminal (CWE-117).

use std::fmt::{self, Write as _};

use tracing::Subscriber;
use tracing::field::Field;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{Writer, debug_fn};

use crate::config::{LogConfig, LogFormat};

/// The subscriber for `config`, writing to stderr; `RUST_LOG`, when set, overrides the level.
pub fn init(config: &LogConfig) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.level));
    // No colour codes in files and journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing::subscriber::set_global_default(subscriber(
        config.format,
        filter,
        std::io::stderr,
        ansi,
    ));
}

/// The gateway's subscriber writing to `writer` (tests capture the lines through it).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        // serde_json escapes every control character itself.
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Text => Box::new(
            builder
                .with_ansi(ansi)
                .fmt_fields(
                    debug_fn(
                        |w: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug| {
                            if field.name() != "message" {
                                write!(w, "{field}=")?;
                            }
                            write!(Escaping(w), "{value:?}")
                        },
                    )
                    .delimited(" "),
                )
                .finish(),
        ),
    }
}

/// Writes through to `W` with what could break a line or drive a terminal spelt out:
/// control characters (CR, LF, ESC, C1), Unicode line separators and bidirectional overrides.
struct Escaping<'a, W>(&'a mut W);

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, mut s: &str) -> fmt::Result {
        while let Some((i, c)) = s.char_indices().find(|&(_, c)| needs_escape(c)) {
            self.0.write_str(&s[..i])?;
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
            }
            s = &s[i + c.len_utf8()..];
        }
        self.0.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use super::Escaping;

    fn escaped(s: &str) -> String {
        let mut out = String::new();
        write!(Escaping(&mut out), "{s}").unwrap();
        out
    }

    #[test]
    fn what_breaks_a_line_or_a_terminal_is_spelt_out() {
        assert_eq!(
            escaped("x\n1999-01-01T00:00:00Z ERROR forged"),
            "x\\n1999-01-01T00:00:00Z ERROR forged"
        );
        assert_eq!(escaped("a\r\nb\tc"), "a\\r\\nb\\tc");
        assert_eq!(escaped("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(
            escaped("nul\0 del\u{7f} c1\u{85}"),
            "nul\\u{0} del\\u{7f} c1\\u{85}"
        );
        assert_eq!(escaped("line\u{2028}sep"), "line\\u{2028}sep");
        assert_eq!(escaped("rtl\u{202e}txt.exe"), "rtl\\u{202e}txt.exe");
    }

    #[test]
    fn everything_else_is_left_alone() {
        for s in [
            "",
            "plain",
            "Иван Петров",
            "quote \" and \\ backslash",
            "emoji 🙂",
        ] {
            assert_eq!(escaped(s), s);
        }
    }
}
