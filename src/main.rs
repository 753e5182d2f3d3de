//! The `camlens` binary: the command line of `src/cli/`, over the library.

// On Windows a double-clicked camlens.exe must not open a console window beside the app: release
// builds are GUI programs, and `attach_parent_console` gives the command line its terminal back.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

mod cli;

fn main() -> std::process::ExitCode {
    attach_parent_console();
    cli::main()
}

/// A GUI-subsystem program started from a terminal has no console of its own: it writes to the
/// terminal's (where stdout is not already redirected to a file or pipe). Started by a
/// double-click there is no parent console and nothing happens.
#[cfg(all(windows, not(debug_assertions)))]
fn attach_parent_console() {
    const ATTACH_PARENT_PROCESS: u32 = u32::MAX;
    // kernel32 is linked by every Windows Rust program.
    unsafe extern "system" {
        fn AttachConsole(process_id: u32) -> i32;
    }
    // SAFETY: a plain Win32 call with no pointers; failure (no parent console) is harmless.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}

#[cfg(not(all(windows, not(debug_assertions))))]
fn attach_parent_console() {}
