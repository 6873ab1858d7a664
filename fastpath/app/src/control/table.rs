//! The requests that change the SAD and the SPDs (`sa_add`, `sa_del`, `sp_add`, `sp_del`):
//! each one a command for every worker and an answer read from their replies, alone or many
//! at once in a `batch` (one visit to each worker for up to `MAX_BATCH` changes).

use super::command::{Command, Reply};
use super::context::{answer, broadcast, broadcast_within, Answer, Control, WORKER_ANSWER_TIMEOUT};
use super::convert;
use crate::tables::owner;
use esp::spd::{Policy, PolicyId};
use ipc::fastpath::{BatchResult, PolicyAdded, PolicyRef, Request, SaAdded, SaRef, MAX_BATCH};

/// How much longer a worker may take to answer a run of changes, per change.
const RUN_ALLOWANCE_PER_CHANGE: std::time::Duration = std::time::Duration::from_millis(10);

/// Whether the request changes the tables (and so may travel in a `Command::Many`).
pub fn is_change(request: &Request) -> bool {
    matches!(
        request,
        Request::SaAdd { .. }
            | Request::SaDel { .. }
            | Request::SpAdd { .. }
            | Request::SpDel { .. }
    )
}

/// The command each of `n` workers carries out for a change (None: not a change).
fn command(request: &Request, n: usize) -> Option<Command> {
    Some(match request {
        Request::SaAdd { sa } => {
            let (id, config) = convert::sa_config(sa);
            Command::AddSa {
                id,
                config: Box::new(config),
                owner: owner(id, n),
            }
        }
        Request::SaDel { sa } => Command::DelSa {
            id: convert::sa_id(*sa),
        },
        Request::SpAdd { sp } => Command::AddSp {
            direction: convert::direction(sp.dir),
            policy: Policy {
                priority: sp.priority,
                selector: convert::selector(sp),
                action: convert::action(sp.action),
            },
        },
        Request::SpDel { dir, policy } => Command::DelSp {
            direction: convert::direction(*dir),
            id: PolicyId(policy.0),
        },
        _ => return None,
    })
}

/// A change's result, from every worker's reply to its command (in worker order).
fn result(request: &Request, replies: Vec<Reply>) -> Answer {
    let n = replies.len();
    match request {
        Request::SaAdd { sa } => {
            let owner_w = owner(convert::sa_id(sa.id), n);
            match replies.get(owner_w) {
                Some(Reply::Done) => answer(SaAdded {
                    sa: sa.id,
                    worker: owner_w,
                }),
                Some(Reply::Failed(e)) => Err(e.clone()),
                r => Err(format!("unexpected reply {r:?}")),
            }
        }
        Request::SaDel { sa } => {
            if replies.iter().any(|r| matches!(r, Reply::Done)) {
                answer(SaRef { sa: *sa })
            } else {
                Err(format!("no SA {sa}"))
            }
        }
        Request::SpAdd { .. } => {
            let ids: Vec<u32> = replies
                .iter()
                .filter_map(|r| match r {
                    Reply::SpAdded(id) => Some(id.0),
                    _ => None,
                })
                .collect();
            // Every worker holds the same SPD, built by the same sequence of changes.
            if n == 0 || ids.len() != n || ids.iter().any(|i| *i != ids[0]) {
                return Err(format!("workers disagree on the new policy's id: {ids:?}"));
            }
            answer(PolicyAdded {
                policy: ipc::PolicyId(ids[0]),
            })
        }
        Request::SpDel { policy, .. } => {
            match replies.into_iter().find(|r| !matches!(r, Reply::Done)) {
                None => answer(PolicyRef { policy: *policy }),
                Some(Reply::Failed(e)) => Err(e),
                Some(r) => Err(format!("unexpected reply {r:?}")),
            }
        }
        _ => Err(format!("{} is not a table change", request.op())),
    }
}

/// One change, alone.
pub fn change(control: &Control, request: &Request) -> Answer {
    if !is_change(request) {
        return Err(format!("{} is not a table change", request.op()));
    }
    let n = control.inboxes.len();
    let replies = broadcast(control, |_| {
        command(request, n).unwrap_or(Command::Many(Vec::new()))
    })?;
    result(request, replies)
}

/// Each request of a batch in turn, each with its own outcome; runs of changes go to the
/// workers together, the other requests to `handle` (the server's).
pub fn batch(
    control: &Control,
    requests: Vec<Request>,
    handle: fn(&Control, Request) -> Answer,
) -> Result<Vec<BatchResult>, String> {
    if requests.len() > MAX_BATCH {
        return Err(format!(
            "a batch of {} requests: at most {MAX_BATCH}",
            requests.len()
        ));
    }
    let mut out = Vec::with_capacity(requests.len());
    let mut run = Vec::new();
    for r in requests {
        if is_change(&r) {
            run.push(r);
            continue;
        }
        out.extend(changes(control, std::mem::take(&mut run)));
        out.push(match r.unbatchable() {
            Some(why) => BatchResult::Refused(why.into()),
            None => handle(control, r).into(),
        });
    }
    out.extend(changes(control, run));
    Ok(out)
}

/// A run of changes, one `Command::Many` to each worker; each change's outcome.
fn changes(control: &Control, run: Vec<Request>) -> Vec<BatchResult> {
    if run.is_empty() {
        return Vec::new();
    }
    let n = control.inboxes.len();
    let many = |_| Command::Many(run.iter().filter_map(|r| command(r, n)).collect());
    // A worker that took the run and answers late has carried it out: giving up on it
    // would leave the caller believing refused what is in the tables. The bound grows with
    // the run (a loaded machine may hold a worker off its core for a while).
    let timeout = WORKER_ANSWER_TIMEOUT + RUN_ALLOWANCE_PER_CHANGE * run.len() as u32;
    let per_worker = match broadcast_within(control, timeout, many) {
        Ok(replies) => replies,
        Err(e) => {
            return run
                .iter()
                .map(|_| BatchResult::Refused(e.clone()))
                .collect()
        }
    };
    // Worker-major replies, turned request-major.
    let mut columns: Vec<std::vec::IntoIter<Reply>> = Vec::with_capacity(n);
    for reply in per_worker {
        match reply {
            Reply::Many(v) if v.len() == run.len() => columns.push(v.into_iter()),
            r => {
                let e = format!("unexpected reply to a batch {r:?}");
                return run
                    .iter()
                    .map(|_| BatchResult::Refused(e.clone()))
                    .collect();
            }
        }
    }
    run.iter()
        .map(|r| {
            let replies = columns.iter_mut().filter_map(Iterator::next).collect();
            result(r, replies).into()
        })
        .collect()
}
