//! The terminal-restore panic hook acts only for panics on the console's own thread: a panic
//! on another thread (the demo tenant's handlers, the API worker) must not hand the terminal
//! back while the console keeps drawing. One test: panic hooks are process-wide.

use std::sync::atomic::{AtomicUsize, Ordering};

static RESTORES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn only_a_panic_on_the_console_thread_runs_the_restore_hook() {
    // Stands in for ratatui's hook, which restores the terminal.
    std::panic::set_hook(Box::new(|_| {
        RESTORES.fetch_add(1, Ordering::SeqCst);
    }));
    mfadesk::console::confine_panic_hook();

    let background = std::thread::spawn(|| panic!("a demo handler panicked"));
    assert!(background.join().is_err(), "the thread did panic");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let task = runtime.block_on(async { tokio::spawn(async { panic!("a task panicked") }).await });
    assert!(task.is_err(), "the task did panic");
    assert_eq!(
        RESTORES.load(Ordering::SeqCst),
        0,
        "background panics leave the terminal alone"
    );

    let own = std::panic::catch_unwind(|| panic!("the console itself panicked"));
    assert!(own.is_err());
    assert_eq!(
        RESTORES.load(Ordering::SeqCst),
        1,
        "the console's own panic restores"
    );
    let _ = std::panic::take_hook();
}
