//! The tick against a kept engine: a config edit that adds reminders before the watermark is
//! seen (the fingerprint through the watermark changes), and a tick with nothing new records
//! nothing.

use crate::support::fixtures::AGENCIES;
use chrono::{NaiveDate, TimeZone};
use nhacviec::config::{analyze, Config, Source, Sources};
use nhacviec::deliver::{self, Engine};
use nhacviec::render::Templates;
use nhacviec::store::Store;

fn config(tasks: &str) -> Config {
    let plan = format!(
        "[plan]\nnumber = \"1/KH\"\ntitle = \"T\"\nissuer = \"U\"\nissued = 2022-01-01\n{tasks}"
    );
    let analysis = analyze(&Sources::in_memory(
        None,
        Source::new("agencies.toml", AGENCIES),
        vec![Source::new("plans/1.toml", plan)],
    ));
    assert!(
        !analysis.has_errors(),
        "{:?}",
        analysis.errors().collect::<Vec<_>>()
    );
    analysis.config
}

const ONE: &str = "\n[[task]]\nid = \"1\"\ntitle = \"Một\"\nlead = [\"Sở A\"]\ndue = 2022-06-30\n";
const TWO: &str = "\n[[task]]\nid = \"2\"\ntitle = \"Hai\"\nlead = [\"Sở A\"]\ndue = 2022-05-31\n";

#[test]
fn an_edit_adding_past_reminders_is_caught_up_and_a_quiet_tick_records_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open_writer(&tmp.path().join("nhacviec.db")).unwrap();
    let templates = Templates::new(&[]).unwrap();
    let at = |d: u32| {
        chrono_tz::Asia::Ho_Chi_Minh
            .with_ymd_and_hms(2022, 6, d, 8, 0, 0)
            .unwrap()
    };
    let today = NaiveDate::from_ymd_opt(2022, 6, 1).unwrap();
    let first = config(ONE);
    let engine = Engine::build(&first, today);
    let p = deliver::tick(&engine, &first, &templates, &mut store, at(1)).unwrap();
    assert_eq!(p.queued, 0, "task 1 is not due for reminders yet");
    // The same tick again, and the next day: nothing new.
    let again = deliver::tick(&engine, &first, &templates, &mut store, at(1)).unwrap();
    assert_eq!((again.queued, again.skipped), (0, 0));
    // Task 2 (overdue since 31/5, before the watermark) is added: the next tick finds it.
    let second = config(&format!("{ONE}{TWO}"));
    let engine = Engine::build(&second, today);
    let p = deliver::tick(&engine, &second, &templates, &mut store, at(2)).unwrap();
    assert_eq!(p.queued, 1, "{p:?}");
    let rows = store.history(Some("a"), None, 10).unwrap();
    assert_eq!(rows[0].items[0].task, "2");
    // And once only.
    let p = deliver::tick(&engine, &second, &templates, &mut store, at(2)).unwrap();
    assert_eq!(p.queued, 0);
}
