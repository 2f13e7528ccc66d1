//! Where a candidate may start: the reverse DFA over the patterns' *heads*
//! (`engine::head_of`: a prefix of every match of a pattern).
//!
//! Read backwards once per text, the DFA lists every position where a head
//! matches; the exact patterns are then tried, anchored, only there.
//! The pass is bound by latency, not instructions: each byte's step loads
//! the next state from the address the previous step loaded, about a fifth
//! of a scan's time on ticket text. Texts of some length are read as two
//! independent halves at once ([`HeadStarts::list`]). Tried and dropped, as
//! measured no faster: skipping bytes no head can end in with a table look-up
//! (short runs, a mispredicted branch at each end), a transition table of our
//! own with the byte class's row off the dependency chain, and listing
//! without a branch per match.

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchError};

use crate::ScanError;

/// [`HeadStarts::list`] reads texts from this length on as two halves.
const MIN_SPLIT: usize = 48;
/// How far from the middle [`HeadStarts::list`] looks for a split.
const SPLIT_WINDOW: usize = 16;

/// The heads' reverse DFA.
pub(crate) struct HeadStarts {
    dfa: dense::DFA<Vec<u32>>,
}

impl HeadStarts {
    /// Compiles the heads into a reverse dense DFA reporting every position
    /// where one of them starts. Built whole at load (some 2,000 states), so
    /// a first pass builds nothing.
    pub(crate) fn build(sources: &[&str]) -> Result<HeadStarts, ScanError> {
        let dfa = dense::Builder::new()
            .syntax(syntax::Config::new().unicode(true).utf8(true))
            .thompson(
                thompson::Config::new()
                    .reverse(true)
                    .which_captures(WhichCaptures::None),
            )
            .configure(
                dense::DFA::config()
                    .match_kind(regex_automata::MatchKind::All)
                    .start_kind(StartKind::Unanchored),
            )
            .build_many(sources)
            .map_err(|e| ScanError::Pattern(Box::new(e)))?;
        Ok(HeadStarts { dfa })
    }

    /// Lists into `starts`, right to left, every position of `text` where a
    /// head matches, each with the match state reporting it (for
    /// [`HeadStarts::heads_at`]). `left` is scratch space.
    ///
    /// The DFA is unanchored (a head match may end anywhere) and reports
    /// all patterns' matches; as in every regex-automata DFA, a match is
    /// seen one byte late, so being in a match state after reading byte `i`
    /// means a head match starts at `i + 1`. Every head starts with an
    /// ASCII byte, so each position listed is a character boundary.
    ///
    /// Each step waits for the state the step before loaded, so one run of
    /// the DFA goes at the pace of one memory load a byte. A text of some
    /// length is therefore read as two halves at once, each step of one
    /// independent of the other's: the right half from the end, the left
    /// half from a space in the middle, starting in the state the DFA would
    /// be in after reading that space and the byte after it from its start
    /// state. Once the right half is read, the DFA's true state at the split
    /// is known; when it differs from that guess (a head under way across
    /// the space), the left half is read again from the true state. So the
    /// list is exactly the one a single run gives.
    pub(crate) fn list(
        &self,
        text: &[u8],
        starts: &mut Vec<(usize, StateID)>,
        left: &mut Vec<(usize, StateID)>,
    ) -> Result<(), MatchError> {
        let dfa = &self.dfa;
        starts.clear();
        let start = dfa.start_state_reverse(&Input::new(text))?;
        // The split: a space followed by a lower-case letter near the middle,
        // where the DFA is almost always idle.
        let n = text.len();
        let split = if n >= MIN_SPLIT {
            let mid = n / 2;
            (mid..mid + SPLIT_WINDOW)
                .chain((mid - SPLIT_WINDOW..mid).rev())
                .find(|&p| text[p] == b' ' && text[p + 1].is_ascii_lowercase())
        } else {
            None
        };
        let Some(p) = split else {
            let sid = self.run(text, n, 0, start, starts)?;
            return self.finish(sid, starts);
        };
        let guess = dfa.next_state(dfa.next_state(start, text[p + 1]), text[p]);
        left.clear();
        // Both halves, a byte of each per step.
        let (mut a, mut b) = (n, p);
        let (mut sa, mut sb) = (start, guess);
        while a > p && b > 0 {
            a -= 1;
            b -= 1;
            sa = dfa.next_state(sa, text[a]);
            sb = dfa.next_state(sb, text[b]);
            if dfa.is_special_state(sa) {
                self.special(sa, text[a], a, starts)?;
            }
            if dfa.is_special_state(sb) {
                self.special(sb, text[b], b, left)?;
            }
        }
        // The rest of the right half, then of the left one.
        sa = self.run(text, a, p, sa, starts)?;
        let sid = if sa == guess {
            starts.append(left);
            self.run(text, b, 0, sb, starts)?
        } else {
            self.run(text, p, 0, sa, starts)?
        };
        self.finish(sid, starts)
    }

    /// Reads `text[to..from]` backwards from state `sid`, listing starts;
    /// returns the state reached.
    fn run(
        &self,
        text: &[u8],
        from: usize,
        to: usize,
        mut sid: StateID,
        starts: &mut Vec<(usize, StateID)>,
    ) -> Result<StateID, MatchError> {
        let dfa = &self.dfa;
        for (k, &b) in text[to..from].iter().enumerate().rev() {
            sid = dfa.next_state(sid, b);
            if dfa.is_special_state(sid) {
                self.special(sid, b, to + k, starts)?;
            }
        }
        Ok(sid)
    }

    /// A special state reached on reading byte `b` at `at`: a match lists
    /// `at + 1`; the DFA has no quit bytes, so a quit is not expected.
    fn special(
        &self,
        sid: StateID,
        b: u8,
        at: usize,
        starts: &mut Vec<(usize, StateID)>,
    ) -> Result<(), MatchError> {
        if self.dfa.is_match_state(sid) {
            starts.push((at + 1, sid));
        } else if self.dfa.is_quit_state(sid) {
            return Err(MatchError::quit(b, at));
        }
        Ok(())
    }

    /// The end of the text, after its first byte: a head may start at 0.
    fn finish(&self, sid: StateID, starts: &mut Vec<(usize, StateID)>) -> Result<(), MatchError> {
        let sid = self.dfa.next_eoi_state(sid);
        if self.dfa.is_match_state(sid) {
            starts.push((0, sid));
        }
        Ok(())
    }

    /// The union of `head_bits` of the heads a match state reports.
    /// Computed only for the starts actually tried, not for every start
    /// listed: most are skipped inside an earlier finding.
    pub(crate) fn heads_at(&self, head_bits: &[u8], sid: StateID) -> u8 {
        (0..self.dfa.match_len(sid)).fold(0, |b, i| {
            b | head_bits[self.dfa.match_pattern(sid, i).as_usize()]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Heads like the engine's: word boundaries, digits, capitals, an
    /// unbounded run before `@`, and one that spans spaces, so that a head
    /// can be under way across the split.
    fn heads() -> &'static HeadStarts {
        static H: std::sync::OnceLock<HeadStarts> = std::sync::OnceLock::new();
        H.get_or_init(|| {
            HeadStarts::build(&[
                r"(?-u:\b)[0-9]{3}[- ][0-9]{2}[- ]",
                r"(?-u:\b)[A-Za-z0-9][A-Za-z0-9._%+-]*@",
                r"(?-u:\b)[A-Z]{2}[0-9]{2}[A-Z0-9 ]",
                r"(?-u:\b)to [a-z]+ [a-z]+!",
                r"[0-9A-Fa-f]*:[0-9A-Fa-f]*:",
            ])
            .expect("test heads compile")
        })
    }

    /// One run of the DFA over the whole text, byte by byte, written out
    /// apart from `list`'s helpers so that it checks them too.
    fn one_run(h: &HeadStarts, text: &[u8]) -> Vec<(usize, StateID)> {
        let dfa = &h.dfa;
        let mut out = Vec::new();
        let mut sid = dfa
            .start_state_reverse(&Input::new(text))
            .expect("a reverse start state");
        for at in (0..text.len()).rev() {
            sid = dfa.next_state(sid, text[at]);
            assert!(!dfa.is_quit_state(sid) && !dfa.is_dead_state(sid));
            if dfa.is_match_state(sid) {
                out.push((at + 1, sid));
            }
        }
        sid = dfa.next_eoi_state(sid);
        if dfa.is_match_state(sid) {
            out.push((0, sid));
        }
        out
    }

    fn list(h: &HeadStarts, text: &[u8]) -> Vec<(usize, StateID)> {
        let (mut starts, mut left) = (Vec::new(), Vec::new());
        h.list(text, &mut starts, &mut left).expect("no quit bytes");
        starts
    }

    #[test]
    fn halves_list_what_one_run_lists() {
        let h = heads();
        let pad = "word ".repeat(8);
        for text in [
            String::new(),
            "123-45-".to_owned(),
            format!("{pad}call 123-45-6789 or mail ann@example.org {pad}"),
            // A head under way across the split: the guess is wrong there.
            format!("{pad}go to the shop! {pad}"),
            format!("{}to the shop!{}", "x".repeat(22), " y".repeat(12)),
            format!("GB12 {pad}fe80::1 {pad}AB34 x"),
        ] {
            assert_eq!(
                list(h, text.as_bytes()),
                one_run(h, text.as_bytes()),
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn halves_agree_with_one_run(text in "[a-z0-9A-Z @:.!-]{0,160}") {
            let h = heads();
            prop_assert_eq!(list(h, text.as_bytes()), one_run(h, text.as_bytes()));
        }
    }
}
