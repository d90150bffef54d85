//! Parse + validate + E.164 per number, for tfa-phone and, side by side on the same inputs, the
//! two libphonenumber ports: `rlibphonenumber` (the one tfa-phone uses) and `phonenumber` (the
//! rejected alternative).
//!
//! Inputs are libphonenumber's valid example numbers of every region and kind from
//! `tests/data/golden.tsv`: the stored form (`44 2079460958`) and the international form
//! (`+44 20 7946 0958`). Each iteration handles the whole batch; criterion's throughput gives the
//! time per number. Run: `cargo bench -p tfa-phone --bench parse -- --warm-up-time 1
//! --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tfa_phone::{PhoneNumber, Region};

const GOLDEN: &str = include_str!("../tests/data/golden.tsv");

/// The inputs of `form` that libphonenumber calls valid, without default region.
fn valid_inputs(form: &str) -> Vec<&'static str> {
    GOLDEN
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (f.len() == 7 && f[0] == form && f[2] == "-" && f[3] == "true").then(|| f[1])
        })
        .collect()
}

/// The valid inputs of `form` with their default region.
fn valid_cases(form: &str) -> Vec<(&'static str, Option<Region>)> {
    GOLDEN
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() != 7 || f[0] != form || f[3] != "true" {
                return None;
            }
            let region = if f[2] == "-" {
                None
            } else {
                Some(Region::new(f[2]).ok()?)
            };
            Some((f[1], region))
        })
        .collect()
}

fn rlib_e164(input: &str) -> Option<String> {
    rlib_e164_in(input, None)
}

fn rlib_e164_in(input: &str, region: Option<String>) -> Option<String> {
    let util = &*rlibphonenumber::PHONE_NUMBER_UTIL;
    let region = region.and_then(|r| rlibphonenumber::Region::from_code(&r).ok());
    let number = util.parse(input, region).ok()?;
    util.is_valid_number(&number).then(|| {
        util.format(&number, rlibphonenumber::PhoneNumberFormat::E164)
            .into_owned()
    })
}

fn phonenumber_e164(input: &str) -> Option<String> {
    let number = phonenumber::parse(None, input).ok()?;
    phonenumber::is_valid(&number)
        .then(|| number.format().mode(phonenumber::Mode::E164).to_string())
}

fn bench(c: &mut Criterion) {
    let stored: Vec<&str> = valid_inputs("stored")
        .into_iter()
        .filter(|s| s.split(' ').count() == 2)
        .collect();
    // The same numbers as "+<cc><nsn>", for the ports, which cannot read the stored format.
    let stored_as_plus: Vec<String> = stored
        .iter()
        .map(|s| format!("+{}", s.replacen(' ', "", 1)))
        .collect();
    let free_form = valid_inputs("international");
    // Warm the lazily built metadata outside the measurements.
    black_box(PhoneNumber::parse_stored("1 9259249500").ok());
    black_box(phonenumber_e164("+19259249500"));

    let mut group = c.benchmark_group("stored");
    group.throughput(Throughput::Elements(stored.len() as u64));
    group.bench_function("tfa-phone parse_stored", |b| {
        b.iter(|| {
            for input in &stored {
                black_box(
                    PhoneNumber::parse_stored(black_box(input))
                        .map(|n| n.e164())
                        .ok(),
                );
            }
        });
    });
    group.bench_function("rlibphonenumber parse +cc", |b| {
        b.iter(|| {
            for input in &stored_as_plus {
                black_box(rlib_e164(black_box(input)));
            }
        });
    });
    group.bench_function("phonenumber parse +cc", |b| {
        b.iter(|| {
            for input in &stored_as_plus {
                black_box(phonenumber_e164(black_box(input)));
            }
        });
    });
    group.finish();

    let mut group = c.benchmark_group("free_form");
    group.throughput(Throughput::Elements(free_form.len() as u64));
    group.bench_function("tfa-phone parse", |b| {
        b.iter(|| {
            for input in &free_form {
                black_box(
                    PhoneNumber::parse(black_box(input), None)
                        .map(|n| n.e164())
                        .ok(),
                );
            }
        });
    });
    group.bench_function("rlibphonenumber", |b| {
        b.iter(|| {
            for input in &free_form {
                black_box(rlib_e164(black_box(input)));
            }
        });
    });
    group.bench_function("phonenumber", |b| {
        b.iter(|| {
            for input in &free_form {
                black_box(phonenumber_e164(black_box(input)));
            }
        });
    });
    group.finish();

    // National numbers in their region, and RFC 3966 URIs with an extension: the inputs that
    // take libphonenumber's general parser rather than the "+<digits>" fast path.
    for form in ["national", "rfc3966"] {
        let cases = valid_cases(form);
        let mut group = c.benchmark_group(format!("free_form_{form}"));
        group.throughput(Throughput::Elements(cases.len() as u64));
        group.bench_function("tfa-phone parse", |b| {
            b.iter(|| {
                for (input, region) in &cases {
                    black_box(
                        PhoneNumber::parse(black_box(input), *region)
                            .map(|n| n.e164())
                            .ok(),
                    );
                }
            });
        });
        group.bench_function("rlibphonenumber", |b| {
            b.iter(|| {
                for (input, region) in &cases {
                    black_box(rlib_e164_in(
                        black_box(input),
                        region.map(|r| r.to_string()),
                    ));
                }
            });
        });
        group.finish();
    }

    let mut group = c.benchmark_group("single");
    group.throughput(Throughput::Elements(1));
    for input in ["1 9259249500 292", "91 9876543210", "44 2079460958"] {
        group.bench_function(format!("tfa-phone parse_stored {input}"), |b| {
            b.iter(|| {
                black_box(
                    PhoneNumber::parse_stored(black_box(input))
                        .map(|n| n.e164())
                        .ok(),
                )
            });
        });
    }
    for input in ["+1 (925) 924-9500 ext. 292", "+1 925 924 9500"] {
        group.bench_function(format!("rlibphonenumber {input}"), |b| {
            b.iter(|| black_box(rlib_e164(black_box(input))));
        });
        group.bench_function(format!("phonenumber {input}"), |b| {
            b.iter(|| black_box(phonenumber_e164(black_box(input))));
        });
    }
    group.bench_function("tfa-phone parse +1 925 924 9500", |b| {
        b.iter(|| {
            black_box(
                PhoneNumber::parse(black_box("+1 925 924 9500"), None)
                    .map(|n| n.e164())
                    .ok(),
            )
        });
    });
    group.bench_function("tfa-phone parse +1 (925) 924-9500 ext. 292", |b| {
        b.iter(|| {
            black_box(
                PhoneNumber::parse(black_box("+1 (925) 924-9500 ext. 292"), None)
                    .map(|n| n.e164())
                    .ok(),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
