//! One test per corpus case, so cases run in parallel and fail one by one. A case needing the
//! container engine says so in its `expected.toml`; such cases fail (never skip) without one.

use crate::support::{case_names, engine, read_case, run_case};

macro_rules! corpus {
    ($($case:ident),* $(,)?) => {
        /// Every case directory has a test, and every test a directory.
        #[test]
        fn every_case_is_listed() {
            let listed: Vec<String> = vec![$(stringify!($case).replace('_', "-")),*];
            assert_eq!(case_names(), listed, "list each directory of tests/corpus in corpus! (with - written _)");
        }

        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let name = stringify!($case).replace('_', "-");
                let engine = if read_case(&name).engine { Some(engine().await) } else { None };
                run_case(&name, engine).await;
            }
        )*
    };
}

corpus![
    artifacts,
    basic,
    cache,
    cancel,
    checkout,
    commands,
    composite,
    concurrency,
    concurrency_cancel,
    conditions,
    container_job,
    dirty,
    dispatch,
    dispatch_bad_input,
    env,
    environment,
    fail_fast,
    filters,
    invalid_workflow,
    job_filter,
    matrix,
    matrix_objects,
    needs_failure,
    node_action,
    plan_errors,
    reusable,
    runs_on_image,
    secrets,
    service_unhealthy,
    services_host,
    tag_push,
    timeouts,
    unsecure_commands,
    workspace_env,
];
