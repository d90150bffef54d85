//! Validation and classification of a national significant number, as libphonenumber's
//! `getRegionCodeForNumber` and `getNumberTypeHelper` do, over the metadata in `table.rs`.
//!
//! This is the fast path: the patterns are compiled to fully built DFAs (ASCII digits only),
//! lazily, once per calling code, so a check is a handful of table walks over at most 17 bytes.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::{Anchored, Input, util::syntax};

use super::table::COUNTRY_CODES;
use crate::NumberKind;

/// One number description of the metadata: a national-number pattern and the lengths it allows
/// (empty: any length the general description allows).
#[derive(Debug)]
pub(crate) struct Desc {
    pub(crate) pattern: Option<&'static str>,
    pub(crate) lengths: &'static [u8],
}

impl Desc {
    /// A number type the region does not have.
    pub(crate) const NONE: Desc = Desc {
        pattern: None,
        lengths: &[],
    };
}

/// The metadata of one region, or of one non-geographic calling code (`region: None`).
#[derive(Debug)]
pub(crate) struct RegionData {
    pub(crate) region: Option<[u8; 2]>,
    pub(crate) country_code: u16,
    pub(crate) leading_digits: Option<&'static str>,
    /// The prefix for dialling abroad from the region (`011` in the US).
    pub(crate) international_prefix: Option<&'static str>,
    /// What libphonenumber strips from a national number before validating it (`0` in GB).
    pub(crate) national_prefix_for_parsing: Option<&'static str>,
    /// Whether that prefix is simply removed (no transform rule, no carrier code).
    pub(crate) national_prefix_is_plain: bool,
    /// Lengths only diallable within an area, from the general description.
    pub(crate) local_only_lengths: &'static [u8],
    pub(crate) same_mobile_and_fixed_line_pattern: bool,
    /// General, then the types in libphonenumber's order of checks (see `KINDS`).
    pub(crate) descs: [Desc; 11],
}

/// The kinds of `descs[1..9]`, in libphonenumber's order of checks.
const KINDS: [NumberKind; 8] = [
    NumberKind::PremiumRate,
    NumberKind::TollFree,
    NumberKind::SharedCost,
    NumberKind::Voip,
    NumberKind::PersonalNumber,
    NumberKind::Pager,
    NumberKind::Uan,
    NumberKind::Voicemail,
];
const GENERAL: usize = 0;
const FIXED_LINE: usize = 9;
const MOBILE: usize = 10;

type Dfa = dense::DFA<Vec<u32>>;

/// A description with its pattern compiled.
#[derive(Debug)]
struct Matcher {
    dfa: Option<Dfa>,
    lengths: &'static [u8],
}

impl Matcher {
    fn new(desc: &Desc) -> Self {
        Self {
            dfa: desc.pattern.map(|p| compile(&format!("(?:{p})$"))),
            lengths: desc.lengths,
        }
    }

    /// libphonenumber's `isNumberMatchingDesc`: a possible length and a full match.
    fn matches(&self, nsn: &[u8]) -> bool {
        let length_ok = self.lengths.is_empty()
            || u8::try_from(nsn.len()).is_ok_and(|n| self.lengths.contains(&n));
        length_ok && self.pattern_matches(nsn)
    }

    /// libphonenumber's `matchNationalNumber`: the pattern alone, no length check.
    fn pattern_matches(&self, nsn: &[u8]) -> bool {
        self.dfa.as_ref().is_some_and(|dfa| full_match(dfa, nsn))
    }
}

/// Compiles one metadata pattern. The table is generated from libphonenumber's metadata and
/// every pattern in it compiles (the golden test walks every region), so failure is a bug in
/// the table, not an input error.
fn compile(pattern: &str) -> Dfa {
    dense::Builder::new()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .configure(dense::Config::new().start_kind(StartKind::Anchored))
        .build(pattern)
        .expect("every pattern of the generated metadata table compiles")
}

fn full_match(dfa: &Dfa, haystack: &[u8]) -> bool {
    let input = Input::new(haystack).anchored(Anchored::Yes);
    matches!(dfa.try_search_fwd(&input), Ok(Some(m)) if m.offset() == haystack.len())
}

fn prefix_match(dfa: &Dfa, haystack: &[u8]) -> bool {
    let input = Input::new(haystack).anchored(Anchored::Yes).earliest(true);
    matches!(dfa.try_search_fwd(&input), Ok(Some(_)))
}

/// Where a leftmost-first match at the start ends (Java's `lookingAt`), or `None`.
fn prefix_match_end(dfa: &Dfa, haystack: &[u8]) -> Option<usize> {
    let input = Input::new(haystack).anchored(Anchored::Yes);
    dfa.try_search_fwd(&input)
        .ok()
        .flatten()
        .map(|m| m.offset())
}

/// One region's compiled metadata.
#[derive(Debug)]
struct CompiledRegion {
    data: &'static RegionData,
    leading_digits: Option<Dfa>,
    international_prefix: Option<Dfa>,
    national_prefix_for_parsing: Option<Dfa>,
    descs: Vec<Matcher>,
}

impl CompiledRegion {
    fn new(data: &'static RegionData) -> Self {
        Self {
            data,
            leading_digits: data.leading_digits.map(compile),
            international_prefix: data.international_prefix.map(compile),
            national_prefix_for_parsing: data.national_prefix_for_parsing.map(compile),
            descs: data.descs.iter().map(Matcher::new).collect(),
        }
    }

    /// libphonenumber's `getNumberTypeHelper`; `None` for its `UNKNOWN` (invalid).
    fn kind(&self, nsn: &[u8]) -> Option<NumberKind> {
        let desc = |i: usize| &self.descs[i];
        if !desc(GENERAL).matches(nsn) {
            return None;
        }
        for (i, kind) in KINDS.iter().enumerate() {
            if desc(i + 1).matches(nsn) {
                return Some(*kind);
            }
        }
        let same = self.data.same_mobile_and_fixed_line_pattern;
        if desc(FIXED_LINE).matches(nsn) {
            if same || desc(MOBILE).matches(nsn) {
                return Some(NumberKind::FixedLineOrMobile);
            }
            return Some(NumberKind::FixedLine);
        }
        if !same && desc(MOBILE).matches(nsn) {
            return Some(NumberKind::Mobile);
        }
        None
    }

    /// The national number libphonenumber's `parse` keeps after its national-prefix step
    /// (`maybeStripNationalPrefixAndCarrierCode`, then the length test that may undo it), or
    /// `None` when only the general parser can tell (a transform rule or carrier code).
    fn strip_national_prefix<'a>(&self, national: &'a str) -> Option<&'a str> {
        let Some(prefix) = &self.national_prefix_for_parsing else {
            return Some(national);
        };
        let Some(end) = prefix_match_end(prefix, national.as_bytes()) else {
            return Some(national);
        };
        if !self.data.national_prefix_is_plain {
            return None;
        }
        let general = &self.descs[GENERAL];
        let stripped = national.get(end..)?;
        if general.pattern_matches(national.as_bytes())
            && !general.pattern_matches(stripped.as_bytes())
        {
            return Some(national);
        }
        match self.length_check(stripped.len())? {
            Length::Possible | Length::TooLong => Some(stripped),
            Length::TooShort | Length::LocalOnly | Length::Invalid => Some(national),
        }
    }

    /// libphonenumber's `testNumberLength` against the general description.
    fn length_check(&self, length: usize) -> Option<Length> {
        let lengths = self.descs[GENERAL].lengths;
        let length = u8::try_from(length).ok()?;
        let (&min, &max) = (lengths.first()?, lengths.last()?);
        Some(if self.data.local_only_lengths.contains(&length) {
            Length::LocalOnly
        } else if length == min {
            Length::Possible
        } else if length < min {
            Length::TooShort
        } else if length > max {
            Length::TooLong
        } else if lengths[1..].contains(&length) {
            Length::Possible
        } else {
            Length::Invalid
        })
    }
}

/// The outcomes of libphonenumber's `testNumberLength`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    Possible,
    LocalOnly,
    TooShort,
    TooLong,
    Invalid,
}

/// What validation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No region uses the calling code.
    UnknownCountryCode,
    /// The number matches no region of the calling code.
    Invalid,
    /// Valid, with its kind and region (`None` for non-geographic numbers).
    Valid(NumberKind, Option<[u8; 2]>),
}

/// Per calling code, its regions, compiled on first use.
#[derive(Debug)]
struct Engine {
    /// Index into `slots` by calling code, `u16::MAX` for none.
    index: Vec<u16>,
    slots: Vec<(&'static [RegionData], OnceLock<Vec<CompiledRegion>>)>,
    /// The calling code of each region.
    region_codes: HashMap<[u8; 2], u16>,
}

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let mut index = vec![u16::MAX; 1000];
    let mut slots = Vec::with_capacity(COUNTRY_CODES.len());
    let mut region_codes = HashMap::new();
    for (code, regions) in COUNTRY_CODES {
        region_codes.extend(regions.iter().filter_map(|r| Some((r.region?, *code))));
        if let (Some(entry), Ok(slot)) = (
            index.get_mut(usize::from(*code)),
            u16::try_from(slots.len()),
        ) {
            *entry = slot;
            slots.push((*regions, OnceLock::new()));
        }
    }
    Engine {
        index,
        slots,
        region_codes,
    }
});

fn regions(country_code: u16) -> Option<&'static [CompiledRegion]> {
    let engine = &*ENGINE;
    let slot = *engine.index.get(usize::from(country_code))?;
    let (data, compiled) = engine.slots.get(usize::from(slot))?;
    Some(compiled.get_or_init(|| data.iter().map(CompiledRegion::new).collect()))
}

/// Whether any region uses the calling code.
pub(crate) fn is_known_country_code(country_code: u16) -> bool {
    let engine = &*ENGINE;
    engine
        .index
        .get(usize::from(country_code))
        .is_some_and(|&slot| slot != u16::MAX)
}

/// libphonenumber's `getNumberType` and `getRegionCodeForNumber` in one pass: the region is
/// the only one of its calling code, or the first whose leading digits match, or the first for
/// which the number has a kind.
pub(crate) fn check(country_code: u16, nsn: &str) -> Verdict {
    let Some(regions) = regions(country_code) else {
        return Verdict::UnknownCountryCode;
    };
    let nsn = nsn.as_bytes();
    let found = if let [only] = regions {
        only.kind(nsn).map(|kind| (kind, only))
    } else {
        regions
            .iter()
            .find_map(|region| match &region.leading_digits {
                Some(leading) if prefix_match(leading, nsn) => {
                    Some(region.kind(nsn).map(|k| (k, region)))
                }
                Some(_) => None,
                None => region.kind(nsn).map(|kind| Some((kind, region))),
            })
            .flatten()
    };
    match found {
        Some((kind, region)) => Verdict::Valid(kind, region.data.region),
        None => Verdict::Invalid,
    }
}

/// The digits of text made only of ASCII digits and the separators ` ()-./`, or `None`. Fewer
/// than three digits is `None` too: libphonenumber's viability pattern wants three (or exactly
/// two and nothing else), and the general parser says so best.
fn plain_digits(text: &str) -> Option<String> {
    let mut digits = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'0'..=b'9' => digits.push(char::from(b)),
            b' ' | b'(' | b')' | b'-' | b'.' | b'/' => {}
            _ => return None,
        }
    }
    (digits.len() >= 3).then_some(digits)
}

/// The country code and national number of digits-only input, read without libphonenumber's
/// general parser when the answer is certainly the same as its; `None` sends the input to the
/// general parser.
///
/// The fast path takes `+<digits>` (the first 1 to 3 digits that form a known calling code,
/// then the rest) and national numbers in the default region that start with neither its
/// international prefix nor its calling code, both made of ASCII digits and the separators
/// ` ()-./` only. A national prefix is removed as libphonenumber does when it is simply removed;
/// prefixes with a transform rule or a carrier code go to the general parser.
pub(crate) fn split_digits(input: &str, default_region: Option<[u8; 2]>) -> Option<(u16, String)> {
    let input = input.trim();
    let (code, national, region) = match input.strip_prefix('+') {
        Some(rest) => {
            let digits = plain_digits(rest)?;
            if digits.starts_with('0') {
                return None;
            }
            let (code, split) = (1..=3.min(digits.len())).find_map(|n| {
                let code: u16 = digits.get(..n)?.parse().ok()?;
                is_known_country_code(code).then_some((code, n))
            })?;
            // Libphonenumber strips with the calling code's main region.
            let main = regions(code)?.first()?;
            (code, digits.get(split..)?.to_owned(), main)
        }
        None => {
            let digits = plain_digits(input)?;
            let region = region_data(default_region?)?;
            if let Some(idd) = &region.international_prefix
                && prefix_match(idd, digits.as_bytes())
            {
                return None;
            }
            let code = region.data.country_code;
            if digits.starts_with(&code.to_string()) {
                return None;
            }
            (code, digits, region)
        }
    };
    let national = region.strip_national_prefix(&national)?;
    (2..=super::MAX_NATIONAL_DIGITS)
        .contains(&national.len())
        .then(|| (code, national.to_owned()))
}

/// A number libphonenumber's parser would give, read without it: calling code, national
/// significant number and extension. Handles what [`split_digits`] handles, followed by an
/// extension written ` ext. 292` or ` ext 292`, or as an RFC 3966 URI `tel:+1-925-924-9500` with
/// an optional `;ext=292` (1 to 20 digits, as libphonenumber's explicit extension labels allow).
pub(crate) fn split_fast(
    input: &str,
    default_region: Option<[u8; 2]>,
) -> Option<(u16, String, Option<String>)> {
    let (number, extension) = split_extension(input.trim())?;
    let (code, national) = split_digits(number, default_region)?;
    Some((code, national, extension.map(str::to_owned)))
}

fn split_extension(input: &str) -> Option<(&str, Option<&str>)> {
    if let Some(uri) = input.strip_prefix("tel:") {
        if !uri.starts_with('+') {
            return None; // a local number with a phone-context: the general parser
        }
        return match uri.split_once(";ext=") {
            Some((number, extension)) => Some((number, Some(digits(extension)?))),
            None => Some((uri, None)),
        };
    }
    for label in [" ext. ", " ext "] {
        if let Some((number, extension)) = input.rsplit_once(label) {
            return Some((number, Some(digits(extension)?)));
        }
    }
    Some((input, None))
}

fn digits(extension: &str) -> Option<&str> {
    let ok = (1..=20).contains(&extension.len()) && extension.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(extension)
}

/// The compiled metadata of a region.
fn region_data(region: [u8; 2]) -> Option<&'static CompiledRegion> {
    let code = *ENGINE.region_codes.get(&region)?;
    regions(code)?
        .iter()
        .find(|r| r.data.region == Some(region))
}
