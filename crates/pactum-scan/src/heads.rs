//! Where a candidate may start: the reverse DFA over the patterns' *heads*
//! (`engine::head_of`: a prefix of every match of a pattern).
//!
//! Read backwards once per text, the DFA lists every position where a head
//! matches; the exact patterns are then tried, anchored, only there.
//! Skipping the bytes no head can end in (lower-case letters, spaces) with a
//! table look-up a byte was measured and did not pay: a DFA step here costs
//! about eight instructions a byte, the skip's own loop five, and the idle
//! test before it three more on every byte it cannot skip.

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchError};

use crate::ScanError;

/// The heads' reverse DFA.
pub(crate) struct HeadStarts {
    dfa: dense::DFA<Vec<u32>>,
}

impl HeadStarts {
    /// Compiles the heads into a reverse dense DFA reporting every position
    /// where one of them starts, and works out its skip tables. Built whole
    /// at load (a few hundred states), so a first pass builds nothing.
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
    /// [`HeadStarts::heads_at`]).
    ///
    /// The DFA is unanchored (a head match may end anywhere) and reports
    /// all patterns' matches; as in every regex-automata DFA, a match is
    /// seen one byte late, so being in a match state after reading byte `i`
    /// means a head match starts at `i + 1`. Every head starts with an
    /// ASCII byte, so each position listed is a character boundary.
    pub(crate) fn list(
        &self,
        text: &[u8],
        starts: &mut Vec<(usize, StateID)>,
    ) -> Result<(), MatchError> {
        let dfa = &self.dfa;
        starts.clear();
        let mut sid = dfa.start_state_reverse(&Input::new(text))?;
        for (at, &b) in text.iter().enumerate().rev() {
            sid = dfa.next_state(sid, b);
            if dfa.is_special_state(sid) {
                if dfa.is_match_state(sid) {
                    starts.push((at + 1, sid));
                } else if dfa.is_quit_state(sid) {
                    return Err(MatchError::quit(b, at));
                }
            }
        }
        sid = dfa.next_eoi_state(sid);
        if dfa.is_match_state(sid) {
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
