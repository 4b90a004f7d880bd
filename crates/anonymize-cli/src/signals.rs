//! The signals that stop a run: SIGINT (Ctrl-C), SIGTERM (systemd, Kubernetes, `timeout`, CI
//! runners) and SIGHUP (a dropped terminal) all stop it the same way; a second one stops at once.

use tokio::sync::oneshot;

use crate::warn;

/// A stopping signal, by its name and number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Signal {
    pub(crate) name: &'static str,
    pub(crate) number: i32,
}

impl Signal {
    /// The exit status of a process stopped by this signal, by the shells' convention.
    pub(crate) fn exit_status(self) -> u8 {
        u8::try_from(128 + self.number).unwrap_or(u8::MAX)
    }
}

/// Listen for the stopping signals for the rest of the process: the first one is answered on the
/// returned channel; a second one ends the process at once with its exit status. Listening
/// starts before this returns, so no signal falls between two polls. An error: this platform
/// (or process) cannot listen, and the caller must not start.
pub(crate) fn listen() -> std::io::Result<oneshot::Receiver<Signal>> {
    let (tx, rx) = oneshot::channel();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            let mut next = async || {
                tokio::select! {
                    _ = int.recv() => Signal { name: "SIGINT", number: 2 },
                    _ = term.recv() => Signal { name: "SIGTERM", number: 15 },
                    _ = hup.recv() => Signal { name: "SIGHUP", number: 1 },
                }
            };
            let first = next().await;
            let _ = tx.send(first);
            let second = next().await;
            warn!("{} again: stopping now", second.name);
            std::process::exit(i32::from(second.exit_status()));
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let first = Signal {
                name: "Ctrl-C",
                number: 2,
            };
            let _ = tx.send(first);
            if tokio::signal::ctrl_c().await.is_ok() {
                warn!("Ctrl-C again: stopping now");
                std::process::exit(i32::from(first.exit_status()));
            }
        }
    });
    Ok(rx)
}
