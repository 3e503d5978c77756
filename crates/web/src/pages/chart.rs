//! The pain chart: a server-made SVG of the diary's 0-10 scores over the days since the
//! procedure, with the expected course (content/course.toml milestones) marked as lines. Only
//! numbers are computed here; the `chart.svg` template draws them, auto-escaped. The page puts a
//! table of the same data beside it for screen readers.

use serde::Serialize;

pub const WIDTH: f64 = 400.0;
pub const HEIGHT: f64 = 240.0;
const LEFT: f64 = 32.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 42.0;

#[derive(Debug, Serialize)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    /// `x,y x,y ...` for the polyline.
    pub line: String,
    pub points: Vec<Point>,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    pub milestones: Vec<Mark>,
}

#[derive(Debug, Serialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub day: i64,
    pub pain: i64,
    /// This day's entry raised an alert to the clinic.
    pub alert: bool,
}

#[derive(Debug, Serialize)]
pub struct Tick {
    pub at: f64,
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct Mark {
    pub x: f64,
    /// Where its label starts, and which way it runs (lines near the right edge are labelled
    /// to their left, so the words stay inside the chart).
    pub label_x: f64,
    pub anchor: &'static str,
    pub number: usize,
    pub day: i64,
    pub text: String,
}

/// The chart of `(day, pain)` points over days `0..=last_day`, with milestones `(day, label)`
/// drawn when they fall inside the range, and the days in `alerts` (whose entry raised an
/// alert) marked.
pub fn build(
    points: &[(i64, i64)],
    last_day: i64,
    milestones: &[(i64, String)],
    alerts: &[i64],
) -> Chart {
    let max_day = points
        .iter()
        .map(|p| p.0)
        .chain([last_day, 7])
        .max()
        .unwrap_or(7)
        .max(1);
    let x = |day: i64| LEFT + (WIDTH - LEFT - RIGHT) * (day as f64) / (max_day as f64);
    let y = |pain: i64| TOP + (HEIGHT - TOP - BOTTOM) * (10.0 - pain.clamp(0, 10) as f64) / 10.0;
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let mut sorted: Vec<(i64, i64)> = points.to_vec();
    sorted.sort_by_key(|p| p.0);
    let points: Vec<Point> = sorted
        .iter()
        .map(|&(day, pain)| Point {
            x: round(x(day)),
            y: round(y(pain)),
            day,
            pain,
            alert: alerts.contains(&day),
        })
        .collect();
    let line = points
        .iter()
        .map(|p| format!("{},{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    let step = match max_day {
        0..=10 => 1,
        11..=21 => 2,
        22..=70 => 7,
        _ => 14,
    };
    let x_ticks = (0..=max_day)
        .step_by(step as usize)
        .map(|d| Tick {
            at: round(x(d)),
            label: d.to_string(),
        })
        .collect();
    let y_ticks = (0..=10)
        .step_by(2)
        .map(|p| Tick {
            at: round(y(p)),
            label: p.to_string(),
        })
        .collect();
    let milestones = milestones
        .iter()
        .enumerate()
        .filter(|(_, (day, _))| *day <= max_day)
        .map(|(i, (day, text))| {
            let at = x(*day);
            let near_right = at > WIDTH * 0.6;
            Mark {
                x: round(at),
                label_x: round(if near_right { at - 4.0 } else { at + 4.0 }),
                anchor: if near_right { "end" } else { "start" },
                number: i + 1,
                day: *day,
                text: text.clone(),
            }
        })
        .collect();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: WIDTH - RIGHT,
        top: TOP,
        bottom: HEIGHT - BOTTOM,
        line,
        points,
        x_ticks,
        y_ticks,
        milestones,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_entries_make_seven_points_and_the_milestone_inside_the_range_is_marked() {
        let pts: Vec<(i64, i64)> = (1..=7).map(|d| (d, 8 - d)).collect();
        let c = build(
            &pts,
            7,
            &[(3, "settled".into()), (42, "later".into())],
            &[5],
        );
        assert_eq!(c.points.len(), 7);
        assert_eq!(
            c.points
                .iter()
                .filter(|p| p.alert)
                .map(|p| p.day)
                .collect::<Vec<_>>(),
            vec![5],
            "the day that raised an alert is marked"
        );
        assert_eq!(
            c.milestones[0].text, "settled",
            "the line is labelled in place"
        );
        assert_eq!(c.line.split(' ').count(), 7);
        assert_eq!(c.milestones.len(), 1);
        assert!(c.points.iter().all(|p| p.x >= LEFT && p.x <= WIDTH - RIGHT));
        assert!(c
            .points
            .iter()
            .all(|p| p.y >= TOP && p.y <= HEIGHT - BOTTOM));
    }
}
