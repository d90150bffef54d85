//! Checking many numbers at once, as an operator does before an import.

use crate::{PhoneError, PhoneNumber, Region};

/// The result of checking one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineResult {
    /// The line number, counting from 1.
    pub line: usize,
    /// The line as read, without its line ending.
    pub input: String,
    /// The normalised number, or why the line was refused.
    pub result: Result<PhoneNumber, PhoneError>,
}

impl LineResult {
    /// Checks one line: [`PhoneNumber::parse_input`] (stored format or free-form), then
    /// [`PhoneNumber::ensure_callable`], so a premium-rate number is reported too. A blank line
    /// is an [`PhoneError::Empty`] result, not skipped.
    pub fn check(line: usize, input: &str, default_region: Option<Region>) -> Self {
        let input = input.strip_suffix('\r').unwrap_or(input);
        let result = PhoneNumber::parse_input(input, default_region)
            .and_then(|number| number.ensure_callable().map(|()| number));
        Self {
            line,
            input: input.to_owned(),
            result,
        }
    }

    /// Whether the line holds a number the product can use.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// Checks every line, in order, never stopping at a bad one: the caller gets the whole list of
/// problems at once. Lines are numbered from 1; blank lines are reported as errors.
pub fn check_lines<I>(lines: I, default_region: Option<Region>) -> impl Iterator<Item = LineResult>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    lines
        .into_iter()
        .enumerate()
        .map(move |(index, line)| LineResult::check(index + 1, line.as_ref(), default_region))
}
