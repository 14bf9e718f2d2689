//! `rewind`: boot a machine under the debugger.

mod cli;
mod console;
mod drives;
mod gdb;
mod monitor;
mod progress;
mod recording;
mod session;

use clap::Parser;

fn main() {
    let args = match cli::normalize_args(std::env::args()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("rewind: {e}");
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
        Some(cli::Command::Run(args)) => session::run(&args),
        Some(cli::Command::Mtree(args)) => session::print_mtree(&args),
        Some(cli::Command::Record { output, machine, fail_on, fail_silent, bundle }) => {
            let watch = recording::FailureWatch::new(fail_on, fail_silent);
            recording::record(&machine, &argv, recording::RecordOptions { output, watch, bundle })
        }
        Some(cli::Command::Replay { file, gdb_default, gdb, freeze, image_dir }) => {
            recording::replay(&file, recording::ReplayOptions { gdb_default, gdb, freeze, image_dir })
        }
        None => session::run(&cli.machine),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("rewind: {e:#}");
            std::process::exit(1);
        }
    }
}
