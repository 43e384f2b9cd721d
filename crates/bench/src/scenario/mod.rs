//! The scenarios, one file each. A scenario is a `Config` (its command-line options, which
//! derive `clap::Args` and `Serialize` so the report can echo them) implementing [`Scenario`].
//!
//! To add one: write `scenario/<name>.rs` with `pub struct Config` and `impl Scenario for Config`,
//! then add one line to the `scenarios!` list below; the subcommand, its help and the dispatch
//! follow from it.

use crate::{BenchError, Ctx, Report};

/// One benchmark scenario.
pub trait Scenario {
    /// The service port its server listens on by default (used when `--addr` is not given).
    const DEFAULT_PORT: u16;
    /// The default port for these options (`DEFAULT_PORT` unless an option changes it, as
    /// `--proto irc` does).
    fn default_port(&self) -> u16 {
        Self::DEFAULT_PORT
    }
    /// Run against the servers in `ctx` and summarise.
    fn run(self, ctx: &Ctx) -> impl Future<Output = Result<Report, BenchError>>;
}

macro_rules! scenarios {
    ($($(#[$doc:meta])* $variant:ident($module:ident),)*) => {
        $(pub mod $module;)*

        /// `sockhub bench SCENARIO`: which scenario to run, with its options.
        #[derive(Debug, Clone, clap::Subcommand)]
        pub enum ScenarioArgs {
            $($(#[$doc])* $variant($module::Config),)*
        }

        impl ScenarioArgs {
            pub(crate) async fn run(self, ctx: &Ctx) -> Result<Report, BenchError> {
                match self {
                    $(ScenarioArgs::$variant(c) => c.run(ctx).await,)*
                }
            }

            /// The default service port of the chosen scenario.
            pub fn default_port(&self) -> u16 {
                match self {
                    $(ScenarioArgs::$variant(c) => c.default_port(),)*
                }
            }
        }
    };
}

scenarios! {
    /// N clients in one chat room, S of them sending R messages/s each: deliveries/s, missing
    /// deliveries, end-to-end latency.
    ChatFanout(chat_fanout),
    /// Open N idle chat connections, hold them, and report the server's memory per connection.
    Connections(connections),
    /// Chat fan-out where some clients never read: the server's memory stays bounded, the slow
    /// ones are disconnected, and the readers' latency is compared with a run without them.
    SlowConsumers(slow_consumers),
    /// N bot players in one quiz round: answers/s, and how close to the limit the server judges
    /// answers and sends timeouts.
    Quiz(quiz),
    /// N students squaring numbers and receiving everyone's results: results/s, broadcast
    /// deliveries, latency to the own result and to the broadcast.
    Calc(calc),
    /// M devices sending records through Server1 to Server2, durable on both: records/s and the
    /// latency of each hop.
    Relay(relay),
}

impl ScenarioArgs {
    /// Parse a scenario and its options as on the command line, e.g.
    /// `["chat-fanout", "--clients", "10"]` (used by tests and scripts).
    pub fn parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::Parser;
        #[derive(clap::Parser)]
        #[command(name = "bench")]
        struct Cli {
            #[command(subcommand)]
            scenario: ScenarioArgs,
        }
        let args = std::iter::once(std::ffi::OsString::from("bench")).chain(args.into_iter().map(Into::into));
        Ok(Cli::try_parse_from(args)?.scenario)
    }
}
