//! Validation of `schedule` cron expressions: five fields (minute, hour, day of month, month,
//! day of week), each a comma-separated list of `*`, values, ranges `a-b` and steps `/n`, with
//! month and weekday names (`JAN`, `MON`) allowed, as POSIX cron and GitHub accept.

use thiserror::Error;

/// Why a cron expression is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid cron '{expression}': {message}")]
pub struct CronError {
    /// The expression.
    pub expression: String,
    /// What is wrong.
    pub message: String,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 6,
        names: WEEKDAYS,
    },
];

/// Checks a cron expression.
pub fn validate(expression: &str) -> Result<(), CronError> {
    let error = |message: String| CronError {
        expression: expression.to_owned(),
        message,
    };
    let parts: Vec<&str> = expression.split_whitespace().collect();
    if parts.len() != FIELDS.len() {
        return Err(error(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
            parts.len()
        )));
    }
    for (part, field) in parts.iter().zip(FIELDS.iter()) {
        for item in part.split(',') {
            check_item(item, field)
                .map_err(|m| error(format!("{} field '{part}': {m}", field.name)))?;
        }
    }
    Ok(())
}

fn check_item(item: &str, field: &Field) -> Result<(), String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(n) if n >= 1 => {}
            _ => return Err(format!("step '{step}' must be a positive number")),
        }
    }
    if range == "*" {
        return Ok(());
    }
    let (low, high) = match range.split_once('-') {
        Some((low, high)) => (value(low, field)?, value(high, field)?),
        None => {
            let v = value(range, field)?;
            (v, v)
        }
    };
    if low > high {
        return Err(format!("range '{range}' goes from high to low"));
    }
    Ok(())
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    if text.is_empty() {
        return Err("a value is missing".to_owned());
    }
    let position = field
        .names
        .iter()
        .position(|name| name.eq_ignore_ascii_case(text));
    let n = match position {
        // Months count from 1; weekdays from 0 (Sunday).
        Some(i) => u32::try_from(i).unwrap_or(0) + field.min,
        None => text
            .parse::<u32>()
            .map_err(|_| format!("'{text}' is not a number{}", name_hint(field)))?,
    };
    if n < field.min || n > field.max {
        return Err(format!("{n} is outside {}-{}", field.min, field.max));
    }
    Ok(n)
}

fn name_hint(field: &Field) -> String {
    if field.names.is_empty() {
        String::new()
    } else {
        format!(" or a name ({})", field.names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_expressions() {
        for expression in [
            "* * * * *",
            "30 5,17 * * *",
            "*/15 * * * *",
            "0 0 1-15/2 * MON-FRI",
            "0 12 * JAN,jul SUN",
            "5 4 * * 0",
            "0 0 31 12 6",
            "0-59/5 0-23 1-31 1-12 0-6",
        ] {
            assert_eq!(validate(expression), Ok(()), "{expression}");
        }
    }

    #[test]
    fn rejects_invalid_expressions() {
        let cases = [
            ("* * * *", "expected 5 fields"),
            ("* * * * * *", "found 6"),
            ("60 * * * *", "60 is outside 0-59"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "0 is outside 1-31"),
            ("* * * 13 *", "month field"),
            ("* * * * 7", "7 is outside 0-6"),
            ("*/0 * * * *", "must be a positive number"),
            ("5-1 * * * *", "high to low"),
            ("* * * FOO *", "'FOO' is not a number or a name"),
            ("1,,2 * * * *", "a value is missing"),
            ("@daily", "expected 5 fields"),
        ];
        for (expression, needle) in cases {
            let err = validate(expression).unwrap_err().to_string();
            assert!(err.contains(needle), "{expression}: {err}");
        }
    }
}
