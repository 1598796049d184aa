//! Times, durations, costs, icons and JSON as people read them, in the
//! CLI and the dashboard alike.
//!
//! Every function takes the clock as an argument instead of reading it, so
//! a rendered screen is a pure function of the state and snapshots are
//! stable. Times are shown in UTC, as they are stored.

use jiff::Timestamp;
use serde_json::Value;

use crate::model::{Play, PlayStatus, SpanStatus};

pub fn play_icon(status: PlayStatus) -> &'static str {
    match status {
        PlayStatus::Pending => "◌",
        PlayStatus::Running => "▶",
        PlayStatus::AwaitingResume => "⏸",
        PlayStatus::Success => "✔",
        PlayStatus::Failed => "✘",
        PlayStatus::Cancelled => "■",
        PlayStatus::TimedOut => "⌛",
    }
}

/// Replayed spans get their own icon: work recorded by an earlier run.
pub fn span_icon(status: SpanStatus) -> &'static str {
    match status {
        SpanStatus::Running => "▶",
        SpanStatus::Success => "✔",
        SpanStatus::Failed => "✘",
        SpanStatus::Replayed => "↺",
        SpanStatus::Paused => "⏸",
        SpanStatus::Cancelled => "■",
    }
}

fn parse(at: &str) -> Option<Timestamp> {
    at.parse().ok()
}

/// "120ms", "1.2s", "4m12s", "2h05m", "3d".
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 1.0 {
        format!("{:.0}ms", s * 1000.0)
    } else if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else if s < 86_400.0 {
        format!(
            "{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    } else {
        format!("{}d", (s / 86_400.0) as u64)
    }
}

/// Seconds from `from` to `to`, or to `now` while `to` is not set yet.
pub fn elapsed(from: &str, to: Option<&str>, now: Timestamp) -> Option<f64> {
    let start = parse(from)?;
    let end = match to {
        Some(to) => parse(to)?,
        None => now,
    };
    Some(end.duration_since(start).as_secs_f64().max(0.0))
}

/// How long ago, compactly: "12s", "4m", "2h", "3d".
pub fn age(at: &str, now: Timestamp) -> String {
    let Some(secs) = elapsed(at, None, now) else {
        return "-".into();
    };
    let s = secs as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// Seconds since `at`, for deciding how often the clock must tick.
pub fn seconds_since(at: &str, now: Timestamp) -> f64 {
    elapsed(at, None, now).unwrap_or(f64::MAX)
}

/// How long a play ran, or has been running so far.
pub fn play_duration(play: &Play, now: Timestamp) -> String {
    play.started_at
        .as_deref()
        .and_then(|start| elapsed(start, play.ended_at.as_deref(), now))
        .map(duration)
        .unwrap_or_else(|| "-".into())
}

/// "10:00:01", in UTC.
pub fn clock(at: &str) -> String {
    parse(at)
        .map(|t| t.strftime("%H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// "2026-11-02 10:00:01Z", in UTC.
pub fn date_time(at: &str) -> String {
    parse(at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn cost(usd: f64) -> String {
    if usd > 0.0 {
        format!("${usd:.4}")
    } else {
        "-".into()
    }
}

/// The first `len` characters of a sid or version: enough to tell apart.
pub fn short(sid: &str, len: usize) -> &str {
    match sid.char_indices().nth(len) {
        Some((end, _)) => &sid[..end],
        None => sid,
    }
}

/// Cuts `text` to `max` characters, marking the cut with "…".
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text.chars().count() > max => format!("{}…", &text[..end]),
        _ => text.to_owned(),
    }
}

/// A value on one line, cut to `max` characters; `null` shows as "-".
pub fn json_line(value: &Value, max: usize) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => clip(s, max),
        other => clip(&other.to_string(), max),
    }
}

/// A value pretty-printed, at most `max_lines` lines, so a huge output
/// cannot slow a frame down.
pub fn json_block(value: &Value, max_lines: usize) -> Vec<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    let mut lines: Vec<String> = text
        .lines()
        .take(max_lines + 1)
        .map(str::to_owned)
        .collect();
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        lines.push("…".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("a test timestamp")
    }

    #[test]
    fn durations_read_at_every_scale() {
        let cases = [
            (0.012, "12ms"),
            (1.25, "1.2s"),
            (252.0, "4m12s"),
            (7500.0, "2h05m"),
            (3.0 * 86_400.0, "3d"),
            (-1.0, "0ms"),
        ];
        for (secs, shown) in cases {
            assert_eq!(duration(secs), shown, "{secs} s");
        }
    }

    #[test]
    fn ages_are_compact() {
        let now = at("2026-11-02T10:00:00Z");
        let cases = [
            ("2026-11-02T09:59:48Z", "12s"),
            ("2026-11-02T09:56:00Z", "4m"),
            ("2026-11-02T08:00:00Z", "2h"),
            ("2026-10-30T10:00:00Z", "3d"),
            ("not a time", "-"),
        ];
        for (when, shown) in cases {
            assert_eq!(age(when, now), shown, "{when}");
        }
    }

    #[test]
    fn clips_and_json_lines() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(json_line(&json!(null), 10), "-");
        assert_eq!(json_line(&json!("text"), 10), "text");
        assert_eq!(json_line(&json!({"a": 1}), 10), r#"{"a":1}"#);
        assert_eq!(short("0123456789ab", 8), "01234567");
        assert_eq!(clock("2026-11-02T10:00:01.5Z"), "10:00:01");
        let long = json!((0..100).collect::<Vec<_>>());
        assert_eq!(json_block(&long, 5).len(), 6);
    }
}
