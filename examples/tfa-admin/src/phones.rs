//! `tfa-admin phones ...`: phone numbers in bulk.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use tfa_phone::{Extension, LineResult, NumberKind, Region};

/// Commands on phone numbers.
#[derive(Debug, Subcommand)]
pub(crate) enum PhonesCommand {
    /// Check one number per line, in the stored format (`1 9259249500 292`) or free-form
    /// (`+1 (925) 924-9500 ext. 292`), and print one result per line. Blank lines are reported.
    /// Exits 0 when every line is valid, 1 when any is not, 2 on a usage or I/O error.
    Check(CheckArgs),
}

/// Arguments of `phones check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Region (ISO 3166 alpha-2, e.g. US) in which to read national numbers such as
    /// `(925) 924-9500`.
    #[arg(long, value_name = "CC")]
    default_region: Option<Region>,
    /// Output format: readable text, or one JSON object per line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// File with one number per line; `-` reads standard input.
    #[arg(value_name = "FILE|-", default_value = "-")]
    file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Runs a `phones` command and returns the process's exit status.
pub(crate) fn run(command: PhonesCommand) -> ExitCode {
    match command {
        PhonesCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> ExitCode {
    let name = args.file.display().to_string();
    let reader: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        match File::open(&args.file) {
            Ok(file) => Box::new(BufReader::new(file)),
            Err(error) => {
                eprintln!("tfa-admin: cannot open {name}: {error}");
                return ExitCode::from(2);
            }
        }
    };
    let mut out = BufWriter::new(io::stdout().lock());
    match check_all(reader, args, &mut out) {
        Ok(tally) => {
            eprintln!(
                "{} lines: {} valid, {} invalid",
                tally.valid + tally.invalid,
                tally.valid,
                tally.invalid
            );
            ExitCode::from(if tally.invalid == 0 { 0 } else { 1 })
        }
        Err(Failure::Read(error)) => {
            eprintln!("tfa-admin: cannot read {name}: {error}");
            ExitCode::from(2)
        }
        Err(Failure::Write(error)) => {
            eprintln!("tfa-admin: cannot write the results: {error}");
            ExitCode::from(2)
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
}

#[derive(Debug)]
enum Failure {
    Read(io::Error),
    Write(io::Error),
}

fn check_all(
    mut reader: impl BufRead,
    args: &CheckArgs,
    out: &mut impl Write,
) -> Result<Tally, Failure> {
    let mut tally = Tally::default();
    let mut buf = Vec::new();
    for line in 1.. {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(Failure::Read)? == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let result = LineResult::check(line, text, args.default_region);
        if result.is_ok() {
            tally.valid += 1;
        } else {
            tally.invalid += 1;
        }
        match args.format {
            Format::Text => write_text(out, &result),
            Format::Json => write_json(out, &result),
        }
        .map_err(Failure::Write)?;
    }
    out.flush().map_err(Failure::Write)?;
    Ok(tally)
}

fn write_text(out: &mut impl Write, result: &LineResult) -> io::Result<()> {
    let input = if result.input.trim().is_empty() {
        "(blank)"
    } else {
        &result.input
    };
    match &result.result {
        Ok(number) => {
            let region = number
                .region()
                .map_or_else(|| "non-geographic".to_owned(), |r| r.to_string());
            writeln!(
                out,
                "{}: ok    {input} -> {} ({}, {}, {region})",
                result.line,
                number.stored(),
                number.e164(),
                number.kind()
            )
        }
        Err(error) => writeln!(out, "{}: error {input}: {error}", result.line),
    }
}

/// One line of `--format json`, fields in the documented order.
#[derive(Debug, Serialize)]
struct JsonLine<'a> {
    line: usize,
    input: &'a str,
    ok: bool,
    #[serde(flatten)]
    outcome: JsonOutcome<'a>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum JsonOutcome<'a> {
    Valid {
        e164: String,
        stored: String,
        extension: Option<&'a str>,
        kind: NumberKind,
        country_code: u16,
        region: Option<Region>,
    },
    Invalid {
        error: String,
    },
}

fn write_json(out: &mut impl Write, result: &LineResult) -> io::Result<()> {
    let outcome = match &result.result {
        Ok(number) => JsonOutcome::Valid {
            e164: number.e164(),
            stored: number.stored(),
            extension: number.extension().map(Extension::as_str),
            kind: number.kind(),
            country_code: number.country_code().get(),
            region: number.region(),
        },
        Err(error) => JsonOutcome::Invalid {
            error: error.to_string(),
        },
    };
    let line = JsonLine {
        line: result.line,
        input: &result.input,
        ok: result.is_ok(),
        outcome,
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}
