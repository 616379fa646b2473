//! Schedules: EventBridge schedule expressions (`rate(5 minutes)`,
//! `cron(0 2 ? * SUN *)`), parsed once and asked for their next firing. The same
//! list drives the local scheduler and, in AWS, the rules in template.yaml.

use crate::Timestamp;
use chrono::{Datelike, Duration, TimeZone, Timelike, Utc};

/// A role that runs on a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleEntry {
    pub name: &'static str,
    pub expression: &'static str,
    pub what: &'static str,
}

/// Every schedule. Roles not built yet get theirs when they land.
pub const SCHEDULES: &[ScheduleEntry] = &[
    ScheduleEntry {
        name: "reaper",
        expression: "rate(5 minutes)",
        what: "requeue expired leases, release expired locks, fail jobs past their deadline",
    },
    ScheduleEntry {
        name: "discovery",
        expression: "cron(0 3 * * ? *)",
        what: "mine logs, coverage and lock files of the configured repositories for tickets",
    },
    ScheduleEntry {
        name: "dispatcher",
        expression: "rate(1 minute)",
        what: "launch ready tickets in priority order under the concurrency cap",
    },
    ScheduleEntry {
        name: "janitor",
        expression: "cron(0 2 ? * SUN *)",
        what: "update each configured repository's dependencies one at a time, keeping what passes the tests",
    },
    ScheduleEntry {
        name: "reporter",
        expression: "cron(0 8 * * ? *)",
        what: "the nightly report: Markdown for the API and CLI, and Slack when configured",
    },
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Rate(Duration),
    Cron(Box<Cron>),
}

/// A cron expression in EventBridge's six fields: minutes hours day-of-month month
/// day-of-week year. Day-of-week counts 1 = Sunday, as EventBridge does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,       // 0..=59
    hours: Vec<bool>,         // 0..=23
    dom: Option<Vec<bool>>,   // 1..=31, None for '?'
    months: Vec<bool>,        // 1..=12
    dow: Option<Vec<bool>>,   // 1..=7, None for '?'
    years: Option<Vec<bool>>, // 1970..=2199, None for '*'
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule expression `{expression}`: {reason}")]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

impl Schedule {
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let err = |reason: &str| ScheduleError {
            expression: expression.to_string(),
            reason: reason.to_string(),
        };
        let e = expression.trim();
        if let Some(inner) = e.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
            let mut parts = inner.split_whitespace();
            let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(err("rate takes a number and a unit, e.g. rate(5 minutes)"));
            };
            let n: i64 = n
                .parse()
                .map_err(|_| err("rate's value must be a whole number"))?;
            if n < 1 {
                return Err(err("rate's value must be at least 1"));
            }
            let d = match unit {
                "minute" | "minutes" => Duration::minutes(n),
                "hour" | "hours" => Duration::hours(n),
                "day" | "days" => Duration::days(n),
                _ => return Err(err("rate's unit must be minute(s), hour(s) or day(s)")),
            };
            return Ok(Self::Rate(d));
        }
        if let Some(inner) = e.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
            let f: Vec<&str> = inner.split_whitespace().collect();
            if f.len() != 6 {
                return Err(err(
                    "cron takes six fields: minutes hours day-of-month month day-of-week year",
                ));
            }
            let field = |i: usize, lo: u32, hi: u32, names: &[&str], what: &str| {
                parse_field(f[i], lo, hi, names).map_err(|r| err(&format!("{what}: {r}")))
            };
            const MONTHS: [&str; 12] = [
                "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
            ];
            const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
            let (dom, dow) = match (f[2], f[4]) {
                ("?", "?") => {
                    return Err(err("only one of day-of-month and day-of-week may be '?'"));
                }
                ("?", _) => (None, Some(field(4, 1, 7, &DAYS, "day-of-week")?)),
                (_, "?") => (Some(field(2, 1, 31, &[], "day-of-month")?), None),
                _ => return Err(err("one of day-of-month and day-of-week must be '?'")),
            };
            let years = if f[5] == "*" {
                None
            } else {
                Some(field(5, 1970, 2199, &[], "year")?)
            };
            return Ok(Self::Cron(Box::new(Cron {
                minutes: field(0, 0, 59, &[], "minutes")?,
                hours: field(1, 0, 23, &[], "hours")?,
                dom,
                months: field(3, 1, 12, &MONTHS, "month")?,
                dow,
                years,
            })));
        }
        Err(err("expected rate(...) or cron(...)"))
    }

    /// The first firing strictly after `t` (whole minutes for cron). For a rate,
    /// one period after `t`. `None` if a cron never fires again.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        match self {
            Self::Rate(d) => Some(t + *d),
            Self::Cron(c) => c.next_after(t),
        }
    }
}

/// Parses `*`, `n`, `a-b`, `a,b,c`, `*/s`, `a/s`, `a-b/s` (names allowed) into a
/// table indexed by value - lo.
fn parse_field(s: &str, lo: u32, hi: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let mut set = vec![false; (hi - lo + 1) as usize];
    let value = |v: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
            return Ok(lo + i as u32);
        }
        let n: u32 = v
            .parse()
            .map_err(|_| format!("`{v}` is not a number or a name"))?;
        if n < lo || n > hi {
            return Err(format!("{n} is outside {lo}-{hi}"));
        }
        Ok(n)
    };
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => (
                r,
                st.parse::<u32>().map_err(|_| format!("bad step `{st}`"))?,
            ),
            None => (part, 1),
        };
        if step == 0 {
            return Err("a step must be at least 1".into());
        }
        let (a, b) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if part.contains('/') => (value(r)?, hi),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        if a > b {
            return Err(format!("range {a}-{b} runs backwards"));
        }
        let mut v = a;
        while v <= b {
            set[(v - lo) as usize] = true;
            v += step;
        }
    }
    Ok(set)
}

impl Cron {
    fn day_matches(&self, d: chrono::NaiveDate) -> bool {
        if !self.months[d.month0() as usize] {
            return false;
        }
        if let Some(years) = &self.years {
            let y = d.year();
            if !(1970..=2199).contains(&y) || !years[(y - 1970) as usize] {
                return false;
            }
        }
        match (&self.dom, &self.dow) {
            (Some(dom), _) => dom[d.day0() as usize],
            (None, Some(dow)) => dow[d.weekday().num_days_from_sunday() as usize],
            (None, None) => true,
        }
    }

    fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let start = t.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let mut day = start.date_naive();
        let mut first_minute = start.hour() * 60 + start.minute();
        // Eight years covers every combination a valid expression can need.
        for _ in 0..(366 * 8) {
            if self.day_matches(day) {
                for m in first_minute..24 * 60 {
                    let (h, mi) = (m / 60, m % 60);
                    if self.hours[h as usize] && self.minutes[mi as usize] {
                        let naive = day.and_hms_opt(h, mi, 0)?;
                        return Some(Utc.from_utc_datetime(&naive));
                    }
                }
            }
            day = day.succ_opt()?;
            first_minute = 0;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn rates() {
        let s = Schedule::parse("rate(5 minutes)").unwrap();
        assert_eq!(
            s.next_after(at("2026-01-01T00:00:00Z")),
            Some(at("2026-01-01T00:05:00Z"))
        );
        assert!(Schedule::parse("rate(0 minutes)").is_err());
        assert!(Schedule::parse("rate(5 weeks)").is_err());
    }

    #[test]
    fn weekly_janitor_and_daily_report() {
        // Sunday 02:00 UTC. 2026-11-22 is a Sunday.
        let janitor = Schedule::parse("cron(0 2 ? * SUN *)").unwrap();
        assert_eq!(
            janitor.next_after(at("2026-11-20T10:00:00Z")),
            Some(at("2026-11-22T02:00:00Z"))
        );
        assert_eq!(
            janitor.next_after(at("2026-11-22T02:00:00Z")),
            Some(at("2026-11-29T02:00:00Z"))
        );
        let report = Schedule::parse("cron(0 8 * * ? *)").unwrap();
        assert_eq!(
            report.next_after(at("2026-11-22T07:59:59Z")),
            Some(at("2026-11-22T08:00:00Z"))
        );
        assert_eq!(
            report.next_after(at("2026-11-22T08:00:00Z")),
            Some(at("2026-11-23T08:00:00Z"))
        );
    }

    #[test]
    fn steps_lists_ranges_and_years() {
        let s = Schedule::parse("cron(*/15 9-17 ? * MON-FRI *)").unwrap();
        // Saturday evening -> Monday 09:00.
        assert_eq!(
            s.next_after(at("2026-11-21T18:00:00Z")),
            Some(at("2026-11-23T09:00:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-11-23T09:00:00Z")),
            Some(at("2026-11-23T09:15:00Z"))
        );
        let s = Schedule::parse("cron(30 6 1,15 JAN,JUL ? 2027)").unwrap();
        assert_eq!(
            s.next_after(at("2026-11-22T00:00:00Z")),
            Some(at("2027-01-01T06:30:00Z"))
        );
        assert_eq!(s.next_after(at("2027-07-15T06:30:00Z")), None);
    }

    #[test]
    fn bad_expressions_say_why() {
        for (e, why) in [
            ("cron(0 2 * * * *)", "must be '?'"),
            ("cron(0 2 ? * ? *)", "only one"),
            ("cron(61 2 ? * SUN *)", "outside 0-59"),
            ("cron(0 2 ? * FUNDAY *)", "FUNDAY"),
            ("every day", "expected rate"),
        ] {
            let err = Schedule::parse(e).unwrap_err();
            assert!(err.to_string().contains(why), "{e}: {err}");
        }
    }

    #[test]
    fn the_schedule_list_parses() {
        for s in SCHEDULES {
            Schedule::parse(s.expression).unwrap();
        }
    }

    #[test]
    fn the_janitor_runs_sundays_at_two_and_the_report_daily_at_eight() {
        let of = |name: &str| {
            Schedule::parse(
                SCHEDULES
                    .iter()
                    .find(|s| s.name == name)
                    .unwrap()
                    .expression,
            )
            .unwrap()
        };
        // Sunday 2026-11-22, 05:00 -> the next Sunday, 02:00 UTC.
        assert_eq!(
            of("janitor").next_after(at("2026-11-22T05:00:00Z")),
            Some(at("2026-11-29T02:00:00Z"))
        );
        assert_eq!(
            of("reporter").next_after(at("2026-11-22T08:00:00Z")),
            Some(at("2026-11-23T08:00:00Z"))
        );
    }
}
