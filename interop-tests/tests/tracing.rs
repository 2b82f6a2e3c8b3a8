//! Feature `tracing`: spindle's tasks as tokio-console sees them.
//!
//! One process-wide subscriber (waker events are emitted on worker threads, so it must be the
//! global default) made of:
//! * a capture layer that records every `runtime.spawn` span (name, target, root-ness, fields),
//!   its enters and its close, and every `tokio::task::waker` event: the exact shape
//!   console-subscriber filters on;
//! * console-subscriber's own `ConsoleLayer` with its gRPC server on a loopback port, which
//!   the second test queries with console-api's client, the way the `tokio-console` binary
//!   does: the server must list spindle's tasks with their names, spawn locations, polls and
//!   wakes.

use console_api::instrument::InstrumentRequest;
use console_api::instrument::instrument_client::InstrumentClient;
use spindle::runtime::{Builder, Runtime};
use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{LazyLock, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::span;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

// ---------------------------------------------------------------------------------------------
// The capture layer

/// One `runtime.spawn` span as the capture layer saw it.
#[derive(Clone, Debug, Default)]
struct SpawnSpan {
    name: &'static str,
    target: &'static str,
    is_root: bool,
    fields: HashMap<String, String>,
    enters: u32,
    exits: u32,
    closed: bool,
    /// `op` of every waker event naming this span while it was open.
    waker_ops: Vec<String>,
}

#[derive(Default)]
struct Seen {
    spans: Vec<SpawnSpan>,
    /// Open spans: span id -> index in `spans` (ids are reused after a close).
    open: HashMap<u64, usize>,
}

static SEEN: LazyLock<Mutex<Seen>> = LazyLock::new(Mutex::default);

fn seen() -> std::sync::MutexGuard<'static, Seen> {
    SEEN.lock().unwrap_or_else(|p| p.into_inner())
}

struct Capture;

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.to_string());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, _: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.name() != "runtime.spawn" {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let mut seen = seen();
        let index = seen.spans.len();
        seen.spans.push(SpawnSpan {
            name: meta.name(),
            target: meta.target(),
            is_root: attrs.is_root(),
            fields: fields.0,
            ..SpawnSpan::default()
        });
        seen.open.insert(id.into_u64(), index);
    }

    fn on_enter(&self, id: &span::Id, _: Context<'_, S>) {
        let mut seen = seen();
        if let Some(&i) = seen.open.get(&id.into_u64()) {
            seen.spans[i].enters += 1;
        }
    }

    fn on_exit(&self, id: &span::Id, _: Context<'_, S>) {
        let mut seen = seen();
        if let Some(&i) = seen.open.get(&id.into_u64()) {
            seen.spans[i].exits += 1;
        }
    }

    fn on_close(&self, id: span::Id, _: Context<'_, S>) {
        let mut seen = seen();
        if let Some(i) = seen.open.remove(&id.into_u64()) {
            seen.spans[i].closed = true;
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "tokio::task::waker" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span_id: u64 = fields.0["task.id"].parse().unwrap();
        let mut seen = seen();
        if let Some(&i) = seen.open.get(&span_id) {
            seen.spans[i].waker_ops.push(fields.0["op"].clone());
        }
    }
}

/// The spawn span of spindle task `id`.
fn span_of(id: spindle::task::Id) -> SpawnSpan {
    let seen = seen();
    let mut found = seen
        .spans
        .iter()
        .filter(|s| s.fields.get("task.id") == Some(&id.as_u64().to_string()));
    let span = found
        .next()
        .expect("no runtime.spawn span for the task")
        .clone();
    assert!(found.next().is_none(), "two spans for one task");
    span
}

/// Installs the global subscriber once; returns the console server's address.
fn init() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        // A free loopback port for console-subscriber's server (it binds it itself).
        let addr = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap();
        let console = console_subscriber::ConsoleLayer::builder()
            .server_addr(addr)
            .publish_interval(Duration::from_millis(20))
            .spawn();
        let subscriber = tracing_subscriber::registry().with(console).with(Capture);
        tracing::subscriber::set_global_default(subscriber).unwrap();
        addr
    })
}

fn rt() -> Runtime {
    Builder::new()
        .worker_threads(2)
        .compute_threads(1)
        .build()
        .unwrap()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------------------------------------
// The shape

/// A task that sleeps once and yields three times is polled 5 times: its span is entered and
/// exited 5 times, closes when the task completes (while its JoinHandle is still held), and
/// its waker events name the span.
#[test]
fn spawn_spans_and_waker_events_have_the_shape_console_reads() {
    init();
    let rt = rt();
    let (line, task) = (
        line!(),
        spindle::task::Builder::new()
            .name("traced")
            .spawn_on(
                async {
                    spindle::time::sleep(Duration::from_millis(20)).await;
                    for _ in 0..3 {
                        spindle::yield_now().await;
                    }
                    7
                },
                rt.handle(),
            )
            .unwrap(),
    );
    let id = task.id();
    wait_until("the task to finish", || task.is_finished());
    wait_until("the span to close", || span_of(id).closed);
    let span = span_of(id);
    assert_eq!(span.name, "runtime.spawn");
    assert_eq!(span.target, "tokio::task");
    assert!(span.is_root, "spawn spans have no parent (parent: None)");
    let field = |name: &str| span.fields.get(name).map(String::as_str);
    assert_eq!(field("kind"), Some("task"));
    assert_eq!(field("task.name"), Some("traced"));
    assert_eq!(field("task.id"), Some(id.as_u64().to_string().as_str()));
    assert_eq!(field("loc.file"), Some(file!()));
    assert_eq!(field("loc.line"), Some((line + 3).to_string().as_str()));
    assert_eq!(field("loc.col"), Some("14"));
    assert_eq!(span.fields.len(), 6, "{:?}", span.fields);
    assert_eq!((span.enters, span.exits), (5, 5), "one enter/exit per poll");
    // The sleep stored a clone of the waker and the timer woke it; each yield woke by ref.
    let count = |op: &str| span.waker_ops.iter().filter(|o| *o == op).count();
    assert_eq!(count("waker.wake_by_ref"), 3, "{:?}", span.waker_ops);
    assert!(count("waker.clone") >= 1, "{:?}", span.waker_ops);
    assert!(
        count("waker.wake") + count("waker.drop") >= 1,
        "{:?}",
        span.waker_ops
    );
    assert!(
        span.waker_ops.iter().all(|op| [
            "waker.wake",
            "waker.wake_by_ref",
            "waker.clone",
            "waker.drop"
        ]
        .contains(&op.as_str())),
        "{:?}",
        span.waker_ops
    );
    assert_eq!(rt.block_on(task).unwrap(), 7);
}

#[test]
fn unnamed_and_blocking_tasks_have_spans_too() {
    init();
    let rt = rt();
    let unnamed = rt.spawn(async {});
    let blocking = rt.spawn_blocking(|| ());
    let (unnamed_id, blocking_id) = (unnamed.id(), blocking.id());
    rt.block_on(async {
        unnamed.await.unwrap();
        blocking.await.unwrap();
    });
    let span = span_of(unnamed_id);
    assert_eq!(span.fields.get("kind").map(String::as_str), Some("task"));
    assert!(!span.fields.contains_key("task.name"), "{:?}", span.fields);
    assert_eq!(span.enters, 1);
    let span = span_of(blocking_id);
    assert_eq!(
        span.fields.get("kind").map(String::as_str),
        Some("blocking")
    );
    assert_eq!(span.enters, 1, "the closure runs inside the span");
    wait_until("the spans to close", || {
        span_of(unnamed_id).closed && span_of(blocking_id).closed
    });
}

// ---------------------------------------------------------------------------------------------
// console-subscriber end to end

/// What the console server told about one task.
#[derive(Debug, Default)]
struct ConsoleTask {
    fields: HashMap<String, String>,
    location: Option<(String, u32, u32)>,
    polls: u64,
    wakes: u64,
    dropped: bool,
}

fn field_value(v: &console_api::field::Value) -> String {
    use console_api::field::Value;
    match v {
        Value::DebugVal(s) | Value::StrVal(s) => s.clone(),
        Value::U64Val(n) => n.to_string(),
        Value::I64Val(n) => n.to_string(),
        Value::BoolVal(b) => b.to_string(),
    }
}

/// Watches the console server's updates (as `tokio-console` does) until `done` holds for the
/// tasks it reported, by console's task id.
fn watch_console(addr: SocketAddr, mut done: impl FnMut(&HashMap<u64, ConsoleTask>) -> bool) {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut client = loop {
            match InstrumentClient::connect(format!("http://{addr}")).await {
                Ok(client) => break client,
                Err(err) => {
                    assert!(
                        Instant::now() < deadline,
                        "console server unreachable: {err}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        let mut updates = client
            .watch_updates(InstrumentRequest {})
            .await
            .unwrap()
            .into_inner();
        let mut tasks: HashMap<u64, ConsoleTask> = HashMap::new();
        while !done(&tasks) {
            let left = deadline.saturating_duration_since(Instant::now());
            let update = tokio::time::timeout(left, updates.message())
                .await
                .unwrap_or_else(|_| panic!("console never showed the tasks: {tasks:#?}"))
                .unwrap()
                .expect("update stream ended");
            let Some(task_update) = update.task_update else {
                continue;
            };
            for task in task_update.new_tasks {
                let entry = tasks.entry(task.id.unwrap().id).or_default();
                for field in task.fields {
                    let Some(console_api::field::Name::StrName(name)) = field.name else {
                        continue;
                    };
                    entry
                        .fields
                        .insert(name, field_value(&field.value.unwrap()));
                }
                entry.location = task
                    .location
                    .map(|l| (l.file.unwrap(), l.line.unwrap(), l.column.unwrap()));
            }
            for (id, stats) in task_update.stats_update {
                let entry = tasks.entry(id).or_default();
                entry.polls = stats.poll_stats.map_or(0, |p| p.polls);
                entry.wakes = stats.wakes;
                entry.dropped = stats.dropped_at.is_some();
            }
        }
    });
}

#[test]
fn console_subscriber_shows_spindle_tasks_with_their_names() {
    let addr = init();
    let rt = rt();
    let (line, named) = (
        line!(),
        spindle::task::Builder::new()
            .name("console-visible")
            .spawn_on(
                async {
                    spindle::time::sleep(Duration::from_millis(10)).await;
                    spindle::yield_now().await;
                },
                rt.handle(),
            )
            .unwrap(),
    );
    let idle = spindle::task::Builder::new()
        .name("console-idle")
        .spawn_on(std::future::pending::<()>(), rt.handle())
        .unwrap();
    rt.block_on(named).unwrap();
    let named_by = |tasks: &HashMap<u64, ConsoleTask>, name: &str| {
        tasks
            .values()
            .find(|t| t.fields.get("task.name").map(String::as_str) == Some(name))
            .map(|t| (t.polls, t.wakes, t.dropped, t.location.clone()))
    };
    let mut last = None;
    watch_console(addr, |tasks| {
        let visible = named_by(tasks, "console-visible");
        let idle = named_by(tasks, "console-idle");
        last = Some((visible.clone(), idle.clone()));
        // Done once console has the finished task's final stats and the idle one's first poll.
        matches!(visible, Some((3, _, true, _))) && matches!(idle, Some((1, _, false, _)))
    });
    let (visible, _) = last.unwrap();
    let (polls, wakes, dropped, location) = visible.unwrap();
    assert_eq!(polls, 3, "sleep pending, yield pending, ready");
    assert!(wakes >= 2, "the timer's wake and the yield's: {wakes}");
    assert!(dropped, "console sees the finished task as dropped");
    assert_eq!(location, Some((file!().to_string(), line + 3, 14)));
    idle.abort();
}
