//! Logging: `tracing` events in the original projects' format,
//! `2026-11-21 15:11:48 [INFO]: message key=value`, to the console and to
//! `<data_dir>/logs/server.log`, which rotates as `[logging]` says ([`rotation`]).
//!
//! The file writer runs on its own thread behind a bounded buffer that blocks rather than drops
//! when full (a log line is never lost silently); the returned [`LogGuard`] flushes it on drop,
//! so `main` keeps it alive until the very end.

pub mod rotation;

use std::fmt;
use std::path::Path;

use chrono::Local;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Formats events as `2026-11-21 15:11:48 [INFO]: service=chat peer=...: message`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassicFormat;

impl<S, N> FormatEvent<S, N> for ClassicFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "{} [{}]: ", Local::now().format("%Y-%m-%d %H:%M:%S"), event.metadata().level())?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(fields) = ext.get::<tracing_subscriber::fmt::FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    write!(writer, "{fields}: ")?;
                }
            }
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The file layer's field formatter. It must be a different type from the console layer's:
/// formatted span fields are cached per formatter type, and two layers sharing one type would
/// each append to the same cache, printing every recorded field twice.
#[derive(Debug, Default)]
struct FileFields(tracing_subscriber::fmt::format::DefaultFields);

impl<'writer> FormatFields<'writer> for FileFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// Keeps the file writer alive; dropping it flushes the log file.
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Install the global subscriber. `filter` is a level or directive list (`info`,
/// `sockhub_server=debug`); `RUST_LOG` wins when set. With `log_dir`, events also go to
/// `log_dir/server.log`, rotated by `rotation`.
pub fn init(
    filter: &str,
    log_dir: Option<&Path>,
    rotation: rotation::RotationPolicy,
) -> std::io::Result<LogGuard> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let console = tracing_subscriber::fmt::layer()
        .event_format(ClassicFormat)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let (file, guard) = match log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let appender = rotation.writer(&dir.join("server.log"))?;
            let (writer, guard) =
                tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(appender);
            let layer = tracing_subscriber::fmt::layer()
                .event_format(ClassicFormat)
                .fmt_fields(FileFields::default())
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(filter());
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry().with(console).with(file).try_init();
    Ok(LogGuard { _file: guard })
}
