//! A card's deletion and insertion curves: computed only when the card asks (a few hundred
//! forward passes, seconds on a CPU), kept with the card's explanation, dropped with it.

use super::background::worker::{CurvesJob, Job};
use super::state::{CamlensApp, CardCurves, Key};
use crate::cam::Method;
use crate::faithfulness::curves::Curves;

impl CamlensApp {
    /// A click on a card's "Curves" button: compute them, or fold and unfold them once there.
    pub(crate) fn toggle_curves(&mut self, method: Method) {
        let key = self.key();
        let monitor = self.new_monitor();
        let Some(e) = self.cache.get_mut(&key) else {
            return;
        };
        match e.curves.get_mut(&method) {
            Some(CardCurves::Ready { shown, .. }) => *shown = !*shown,
            Some(CardCurves::Computing { .. }) => {}
            None => {
                let (Some(class), Some((result, _))) = (e.class, e.results.get(&method)) else {
                    return;
                };
                self.curve_tickets += 1;
                self.worker.send(Job::Curves(CurvesJob {
                    ticket: self.curve_tickets,
                    image: self.pictures[key.image].original.clone(),
                    map: result.map.data.clone(),
                    class,
                    choice: key.choice.clone(),
                    monitor: monitor.clone(),
                }));
                e.curves.insert(
                    method,
                    CardCurves::Computing {
                        ticket: self.curve_tickets,
                        monitor,
                    },
                );
            }
        }
    }

    /// Stops a card's curves being computed; its button asks again.
    pub(crate) fn cancel_curves(&mut self, method: Method) {
        let key = self.key();
        if let Some(e) = self.cache.get_mut(&key)
            && let Some(CardCurves::Computing { monitor, .. }) = e.curves.get(&method)
        {
            monitor.cancel();
            e.curves.remove(&method);
        }
    }

    /// Cancels the curves being computed for other choices than `keep` (all with `None`), so
    /// that a new request does not queue behind them.
    pub(crate) fn cancel_other_curves(&mut self, keep: Option<&Key>) {
        for (key, e) in self.cache.iter_mut() {
            if Some(key) == keep {
                continue;
            }
            e.curves.retain(|_, c| match c {
                CardCurves::Computing { monitor, .. } => {
                    monitor.cancel();
                    false
                }
                CardCurves::Ready { .. } => true,
            });
        }
    }

    /// The worker's answer to a curves job; one nobody waits for any more is dropped.
    pub(crate) fn take_curves(&mut self, ticket: u64, curves: Option<Curves>) {
        for e in self.cache.values_mut() {
            let Some(method) = e.curves.iter().find_map(|(m, c)| match c {
                CardCurves::Computing { ticket: t, .. } if *t == ticket => Some(*m),
                _ => None,
            }) else {
                continue;
            };
            match curves {
                Some(curves) => {
                    e.curves.insert(
                        method,
                        CardCurves::Ready {
                            curves,
                            shown: true,
                        },
                    );
                }
                None => {
                    e.curves.remove(&method);
                }
            }
            return;
        }
    }

    /// For tests and scripts: what a click on `method`'s "Curves" button does.
    pub fn click_curves(&mut self, method: Method) {
        self.commands
            .push(super::command::Command::ToggleCurves(method));
        self.run_commands();
    }

    /// The curves of `method`'s card for the current choice, once computed.
    pub fn shown_curves(&self, method: Method) -> Option<&Curves> {
        match self.shown()?.curves.get(&method)? {
            CardCurves::Ready { curves, .. } => Some(curves),
            CardCurves::Computing { .. } => None,
        }
    }

    /// Whether any card's curves are being computed.
    pub(crate) fn computing_curves(&self) -> bool {
        self.cache.values().any(|e| {
            e.curves
                .values()
                .any(|c| matches!(c, CardCurves::Computing { .. }))
        })
    }
}
