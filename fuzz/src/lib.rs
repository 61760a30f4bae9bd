//! What the fuzz targets share: the gateway they run against (`gateway.toml`), built once
//! per process, in a scratch directory of its own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use socialgate::{Config, Gateway};

/// The config every target but `config` runs against.
pub const CONFIG: &str = include_str!("../gateway.toml");

/// An empty directory of this process's own: the config's base, so `data_dir` and any
/// `*_file` a fuzzed config names resolve inside it. `run.sh` removes them afterwards.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("socialgate-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}

fn parse() -> Config {
    Config::parse(CONFIG, "gateway.toml", scratch()).expect("fuzz/gateway.toml is valid")
}

/// `gateway.toml`, parsed.
pub fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(parse)
}

/// A gateway on `gateway.toml` (memory store, keys in the scratch directory), and the
/// runtime its async functions run on.
pub struct Running {
    pub runtime: tokio::runtime::Runtime,
    pub gateway: Gateway,
}

impl Running {
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}

pub fn gateway() -> &'static Running {
    static GATEWAY: OnceLock<Running> = OnceLock::new();
    GATEWAY.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let gateway = runtime
            .block_on(Gateway::new(parse()))
            .expect("the fuzz gateway starts");
        Running { runtime, gateway }
    })
}

/// No control characters: what may go into a log line or an error description as is.
pub fn printable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}
