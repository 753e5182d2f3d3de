//! Progress on the terminal: a long method's masked inputs, an evaluation's images.

use camlens::cam::Monitor;

/// Shows `done/total` of a long method on a terminal until `finished`.
fn watch_progress(monitor: &Monitor, what: &str, finished: impl Fn() -> bool) {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let mut last = (0, 0);
    while !finished() {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = monitor.progress();
        if tty && now != last && now.1 > 0 {
            // The score methods' previews are the app's; here their share says how far along
            // the map is.
            let preview = monitor
                .preview()
                .map(|p| format!(", preview at {:.0}% of channels", 100.0 * p.share()))
                .unwrap_or_default();
            eprint!("\r  {what}: {}/{} masked inputs{preview}   ", now.0, now.1);
            last = now;
        }
    }
    if tty && last.1 > 0 {
        eprint!("\r{}\r", " ".repeat(what.len() + 72));
    }
}

/// Runs `work` on a scoped thread while this one shows its progress on the terminal.
pub fn watched<T: Send>(what: &str, work: impl FnOnce(&Monitor) -> T + Send) -> T {
    use std::io::IsTerminal;
    // Previews cost a little per batch: only where someone sees them.
    let monitor = match std::io::stderr().is_terminal() {
        true => Monitor::new().with_previews(),
        false => Monitor::new(),
    };
    std::thread::scope(|scope| {
        let job = scope.spawn(|| work(&monitor));
        watch_progress(&monitor, what, || job.is_finished());
        job.join().expect("worker thread")
    })
}

/// `[=======>      ]`: `done` of `total` in `width` characters.
pub fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    let head = if filled < width { ">" } else { "" };
    format!(
        "[{}{head}{}]",
        "=".repeat(filled),
        " ".repeat(width - filled - head.len())
    )
}

/// "42 s", "12 min 5 s", "3 h 20 min".
pub fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::{bar, duration};

    #[test]
    fn progress_bar_and_time_left() {
        assert_eq!(bar(0, 4, 4), "[>   ]");
        assert_eq!(bar(2, 4, 4), "[==> ]");
        assert_eq!(bar(4, 4, 4), "[====]");
        assert_eq!(bar(0, 0, 4), "[====]");
        assert_eq!(duration(42), "42 s");
        assert_eq!(duration(725), "12 min 5 s");
        assert_eq!(duration(12_000), "3 h 20 min");
    }
}
