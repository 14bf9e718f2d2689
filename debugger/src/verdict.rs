//! Verdicts for `git bisect run` (`--expect`, `--fail-on`, `--timeout`, `--on-timeout`, `--verdict-json`): with
//! any of them a run ends in a verdict, its exit code the one `git bisect run` reads — 0 pass, 1 fail, 125 skip
//! (an image could not be loaded: the build that should have made it failed), and 128 when rewind itself could not
//! judge (a bad option), which makes git stop the bisection rather than blame a commit. The verdict and its
//! reason are the last line on stderr.

use crate::session::judge::{seconds, Criteria, Outcome, DEFAULT_FAILURES};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use rewind::TIMEBASE_HZ;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone, Default)]
pub struct VerdictArgs {
    /// Console text that means the run passed: it ends there with exit code 0 (repeatable: any of them).
    #[arg(long = "expect", value_name = "TEXT")]
    pub expect: Vec<String>,
    /// Console text that means the guest failed (repeatable). A kernel panic, an Oops and `BUG:` always count, as
    /// does a trap loop; `--fail-on none` turns those off.
    #[arg(long = "fail-on", value_name = "TEXT")]
    pub fail_on: Vec<String>,
    /// The guest failed if its console stays silent this long in virtual time (`30s`, `500ms`, `2m`).
    #[arg(long = "fail-silent", value_name = "DURATION")]
    pub fail_silent: Option<String>,
    /// End the run after this much virtual time (`30s`, `500ms`, `2m`); --on-timeout says what that means.
    #[arg(long = "timeout", value_name = "DURATION")]
    pub timeout: Option<String>,
    /// What a run that reaches --timeout (or --max-insns) without passing or failing is [default: bad].
    #[arg(long = "on-timeout", value_enum)]
    pub on_timeout: Option<OnTimeout>,
    /// Also write the verdict as JSON to this file.
    #[arg(long = "verdict-json", value_name = "FILE")]
    pub verdict_json: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnTimeout {
    Good,
    Bad,
    Skip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
}

impl Verdict {
    /// The exit code `git bisect run` reads.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::Skip => 125,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
        }
    }
}

/// The exit code of a run in verdict mode that rewind could not judge (see the module's comment).
pub const CANNOT_JUDGE: i32 = 128;

/// An image (firmware, kernel, initrd, disk) could not be read or loaded: for a verdict, the commit is skipped.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadFailed(pub String);

/// How a run or a recording ended: the exit code it gives without a verdict, how the judge ended it (if it
/// did), and where (instruction count, virtual time in ticks).
pub struct Ended {
    pub code: i32,
    pub outcome: Option<Outcome>,
    pub at: Option<(u64, u64)>,
}

/// The exit code of a run or recording: its own, or with a verdict option the verdict's, whose line is then the
/// last on stderr.
pub fn conclude(args: &VerdictArgs, result: Result<Ended>) -> Result<i32> {
    if !args.wanted() {
        return result.map(|e| e.code);
    }
    match result {
        Ok(e) => {
            let (verdict, reason) = args.judge(e.code, e.outcome.as_ref());
            Ok(args.report(verdict, &reason, e.at))
        }
        Err(e) => match e.downcast_ref::<LoadFailed>() {
            Some(LoadFailed(why)) => Ok(args.report(Verdict::Skip, &format!("cannot load an image: {why}"), None)),
            None => {
                crate::term::line(&format!("rewind: {e:#}"));
                crate::term::line("rewind: verdict: none (rewind could not judge the run; exit 128 stops git bisect)");
                Ok(CANNOT_JUDGE)
            }
        },
    }
}

impl VerdictArgs {
    /// Whether the run ends in a verdict. (`--max-insns` alone keeps its meaning, a stop with exit code 0, for
    /// benchmarks; with a verdict option it is a timeout.)
    pub fn wanted(&self) -> bool {
        !self.expect.is_empty()
            || !self.fail_on.is_empty()
            || self.fail_silent.is_some()
            || self.timeout.is_some()
            || self.on_timeout.is_some()
            || self.verdict_json.is_some()
    }

    /// What the run's judge looks for: the defaults, unless `--fail-on none`, and what the options add.
    pub fn criteria(&self) -> Result<Criteria> {
        let mut fail_on: Vec<String> = self.fail_on.iter().filter(|p| *p != "none").cloned().collect();
        if !self.fail_on.iter().any(|p| p == "none") {
            fail_on.extend(DEFAULT_FAILURES.iter().map(|p| p.to_string()));
        }
        let ticks = |option: &str, text: &Option<String>| -> Result<Option<u64>> {
            text.as_deref().map(|t| parse_duration(t).with_context(|| format!("{option} {t}"))).transpose()
        };
        Ok(Criteria {
            expect: self.expect.clone(),
            fail_on,
            silent_ticks: ticks("--fail-silent", &self.fail_silent)?.unwrap_or(0),
            deadline: ticks("--timeout", &self.timeout)?,
        })
    }

    /// The verdict on a run that ended with `code` (the guest's poweroff code, or a session's exit code), and
    /// `outcome` if the judge ended it.
    pub fn judge(&self, code: i32, outcome: Option<&Outcome>) -> (Verdict, String) {
        let on_timeout = match self.on_timeout.unwrap_or(OnTimeout::Bad) {
            OnTimeout::Good => Verdict::Pass,
            OnTimeout::Bad => Verdict::Fail,
            OnTimeout::Skip => Verdict::Skip,
        };
        match outcome {
            Some(Outcome::Passed(why)) => (Verdict::Pass, why.clone()),
            Some(Outcome::Failed(why)) => (Verdict::Fail, why.clone()),
            Some(Outcome::TimedOut(why)) => (on_timeout, why.clone()),
            // The guest powered off (or a front end ended the run) before the judge decided.
            None if code != 0 => (Verdict::Fail, format!("the guest powered off with code {code}")),
            None if !self.expect.is_empty() => {
                (Verdict::Fail, format!("the guest powered off without printing {:?}", self.expect.join("\" or \"")))
            }
            None => (Verdict::Pass, "the guest powered off with code 0".to_string()),
        }
    }

    /// Says the verdict (the last line on stderr), writes `--verdict-json`, and gives the exit code.
    pub fn report(&self, verdict: Verdict, reason: &str, at: Option<(u64, u64)>) -> i32 {
        let place = at
            .map_or(String::new(), |(icount, ticks)| format!(" at instruction {icount} ({} virtual)", seconds(ticks)));
        let line = format!("rewind: verdict: {} ({reason}{place})", verdict.name());
        if let Some(path) = &self.verdict_json {
            if let Err(e) = write_json(path, verdict, reason, at) {
                crate::term::line(&format!("rewind: --verdict-json {}: {e}", path.display()));
                crate::term::line(&line);
                return CANNOT_JUDGE;
            }
        }
        crate::term::line(&line);
        verdict.exit_code()
    }
}

fn write_json(path: &Path, verdict: Verdict, reason: &str, at: Option<(u64, u64)>) -> std::io::Result<()> {
    let json = serde_json::json!({
        "verdict": verdict.name(),
        "exit_code": verdict.exit_code(),
        "reason": reason,
        "instructions": at.map(|(icount, _)| icount),
        "virtual_ns": at.map(|(_, ticks)| ticks.saturating_mul(1_000_000_000 / TIMEBASE_HZ)),
    });
    // Written whole under a temporary name, then renamed: a reader never sees half a verdict.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{json}\n"))?;
    std::fs::rename(&tmp, path)
}

/// A duration in virtual time, as timer ticks: `30s`, `500ms`, `250us`, `2m`, `1h`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let Ok(value) = number.parse::<f64>() else { bail!("'{text}' is not a duration (30s, 500ms, 2m)") };
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" => value / 1e6,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => bail!("'{text}': unknown unit '{unit}' (use s, ms, us, m or h)"),
    };
    let ticks = seconds * TIMEBASE_HZ as f64;
    if !(ticks.is_finite() && ticks >= 1.0 && ticks < u64::MAX as f64) {
        bail!("'{text}' is not a usable duration");
    }
    Ok(ticks as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_virtual_time_and_bad_ones_say_why() {
        assert_eq!(parse_duration("30s").unwrap(), 30 * TIMEBASE_HZ);
        assert_eq!(parse_duration("2").unwrap(), 2 * TIMEBASE_HZ);
        assert_eq!(parse_duration("500ms").unwrap(), TIMEBASE_HZ / 2);
        assert_eq!(parse_duration("1.5m").unwrap(), 90 * TIMEBASE_HZ);
        assert!(parse_duration("soon").unwrap_err().to_string().contains("not a duration"));
        assert!(parse_duration("3d").unwrap_err().to_string().contains("unknown unit 'd'"));
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn verdicts_follow_git_bisect_run() {
        let args = VerdictArgs { expect: vec!["login:".into()], ..Default::default() };
        let judge = |code, outcome: Option<Outcome>| args.judge(code, outcome.as_ref()).0;
        assert_eq!(judge(0, Some(Outcome::Passed("login:".into()))), Verdict::Pass);
        assert_eq!(judge(0, Some(Outcome::Failed("panic".into()))), Verdict::Fail);
        assert_eq!(judge(0, Some(Outcome::TimedOut("t".into()))), Verdict::Fail, "a hang is bad by default");
        assert_eq!(judge(0, None), Verdict::Fail, "powered off without the expected text");
        assert_eq!(judge(3, None), Verdict::Fail);
        let skip = VerdictArgs { on_timeout: Some(OnTimeout::Skip), ..Default::default() };
        assert_eq!(skip.judge(0, Some(&Outcome::TimedOut("t".into()))).0.exit_code(), 125);
        assert_eq!(skip.judge(0, None).0, Verdict::Pass, "no --expect: a clean poweroff passes");
        assert!(!VerdictArgs::default().wanted());
        let defaults = VerdictArgs::default().criteria().unwrap();
        assert!(defaults.fail_on.iter().any(|p| p.starts_with("Kernel panic")));
        let none = VerdictArgs { fail_on: vec!["none".into()], ..Default::default() };
        assert!(none.criteria().unwrap().fail_on.is_empty());
    }
}
