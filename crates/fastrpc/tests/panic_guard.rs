//! The panic guard of the test support module notices what tokio hides: a panic in a spawned
//! task outside test code. Its own test binary, because the panic it provokes would fail the
//! guards of every other test running in the same process.

mod support;

use support::panics;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_library_panic_in_a_spawned_task_is_recorded_and_a_test_panic_is_not() {
    let guard = panics::guard();

    // A handler-style panic raised from this test file: tokio catches it, the guard ignores it.
    let from_test = tokio::spawn(async { panic!("deliberate panic from test code") });
    assert!(from_test.await.unwrap_err().is_panic());
    assert!(guard.panics().is_empty(), "{:#?}", guard.panics());

    // A panic inside a dependency (an assertion in `bytes`), as library code would hit one.
    let from_library = tokio::spawn(async { bytes::Bytes::new().slice(0..1) });
    assert!(from_library.await.unwrap_err().is_panic());
    let seen = guard.panics();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(!seen[0].location.contains("tests/"), "{seen:#?}");

    // A hook installed later without chaining to ours is detected, and ours goes back on top.
    std::panic::set_hook(Box::new(|_| {}));
    let again = panics::guard();
    let from_library = tokio::spawn(async { bytes::Bytes::new().slice(0..1) });
    assert!(from_library.await.unwrap_err().is_panic());
    assert_eq!(again.panics().len(), 1, "{:#?}", again.panics());

    // Both guards saw library panics: dropping them would fail this test, as intended.
    std::mem::forget(again);
    std::mem::forget(guard);
}
