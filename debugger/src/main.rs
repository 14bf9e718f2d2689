//! `rewind`: boot a machine under the debugger.

// Guest and user input must never crash the host: outside tests, a failure is an error value, not a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod cli;
mod condition;
mod console;
mod drives;
mod exec_log;
mod gdb;
mod launch;
mod machine_setup;
mod monitor;
mod monitor_stdio;
mod progress;
mod recording;
mod serial;
mod session;
mod signals;
mod symbols;
mod term;
mod tui;
mod unwind;
mod verdict;

use anyhow::Context;
use clap::Parser;
use std::io::Write;

fn main() {
    let args = match cli::normalize_args(std::env::args()) {
        Ok(args) => args,
        Err(e) => {
            term::line(&format!("rewind: {e}"));
            std::process::exit(2);
        }
    };
    let argv = args.clone();
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let result = match cli.command {
        Some(cli::Command::Run(args)) => verdict::conclude(&args.verdict, launch::run(&args)),
        Some(cli::Command::Tui(args)) => {
            let args = cli::MachineArgs { tui: true, ..args };
            verdict::conclude(&args.verdict, launch::run(&args))
        }
        Some(cli::Command::Mtree(args)) => machine_setup::print_mtree(&args),
        Some(cli::Command::Record { output, machine, bundle }) => {
            let ended = recording::record(&machine, &argv, recording::RecordOptions { output, bundle });
            verdict::conclude(&machine.verdict, ended)
        }
        Some(cli::Command::Replay {
            file,
            gdb_default,
            gdb,
            freeze,
            image_dir,
            tui,
            symbols,
            until,
            log_items,
            log_file,
            log_filter,
        }) => {
            let query_at_start = until.is_some();
            let query = until.map(|condition| format!("until {condition}")).into_iter().collect();
            let log = recording::LogOptions { items: log_items, file: log_file, filter: log_filter };
            let options = recording::ReplayOptions {
                gdb_default,
                gdb,
                freeze,
                image_dir,
                tui,
                symbols,
                query,
                query_at_start,
                log,
            };
            recording::replay(&file, options)
        }
        Some(cli::Command::Query { file, commands, symbols, image_dir }) => {
            let options = recording::ReplayOptions { image_dir, symbols, query: commands, ..Default::default() };
            recording::replay(&file, options)
        }
        Some(cli::Command::Completions { shell }) => print(&cli::completions(shell)),
        Some(cli::Command::Manpage) => cli::manpage().map_err(Into::into).and_then(|page| print(&page)),
        None => verdict::conclude(&cli.machine.verdict, launch::run(&cli.machine)),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            term::line(&format!("rewind: {e:#}"));
            std::process::exit(1);
        }
    }
}

/// Writes `text` to stdout; exit code 0.
fn print(text: &[u8]) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    out.write_all(text).and_then(|()| out.flush()).context("cannot write to stdout")?;
    Ok(0)
}
