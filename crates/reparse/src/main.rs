//! `reparse`: the Parse Platform in one binary.
//!
//! `reparse serve` runs the server (zero-config: SQLite under `./reparse-data`, an app created
//! and its keys printed on first start); `reparse apps …` manages the hosted apps.

mod cloud_config;
mod directory;
mod files_config;
mod files_gc;
mod options;
mod settings;
mod storage;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Arg, ArgAction, ArgMatches, Command};
use reparse_registry::{AppPlacement, AppRecord, Registry};
use reparse_server::{App, AppDirectory, ServerOptions, StaticDirectory};

use crate::directory::RegistryDirectory;

/// mimalloc: a request allocates many small, short-lived values, which glibc's allocator served
/// at a tenth of the request's CPU in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use crate::settings::{ServerSettings, single_app};

fn cli() -> Command {
    let data_dir = Arg::new("data-dir")
        .long("data-dir")
        .value_name("DIR")
        .default_value("reparse-data")
        .help("Folder for the app registry and each app's data");
    let mut serve = Command::new("serve")
        .about("Run the server (no arguments: SQLite under ./reparse-data, keys generated and printed)")
        .arg(Arg::new("config").long("config").value_name("FILE").help("A parse-server JSON config file"))
        .arg(data_dir.clone());
    for spec in options::OPTIONS {
        serve = serve.arg(Arg::new(spec.flag).long(spec.flag).value_name("VALUE").help(spec.help));
    }
    let live_query = serve.clone().name("livequery").about(
        "Run a LiveQuery server alone for one app (its config, with liveQuery.redisURL): the WebSocket \
         and /health only, hearing of writes made through the API servers over Redis",
    );
    let apps = Command::new("apps")
        .about("Manage the apps this installation hosts")
        .subcommand_required(true)
        .arg(data_dir.clone().global(true))
        .arg(
            Arg::new("apps-database-uri")
                .long("apps-database-uri")
                .value_name("URI")
                .env("REPARSE_APPS_DATABASE_URI")
                .global(true)
                .help("The PostgreSQL database apps keep their data in (needed to delete such an app)"),
        )
        .arg(
            Arg::new("apps-files-adapter")
                .long("apps-files-adapter")
                .value_name("ADAPTER")
                .env("REPARSE_APPS_FILES_ADAPTER")
                .global(true)
                .help("Where apps keep their files (as given to serve; for export and import)"),
        )
        .subcommand(
            Command::new("create")
                .about("Add an app and print its keys")
                .arg(Arg::new("name").required(true)),
        )
        .subcommand(Command::new("list").about("List the apps"))
        .subcommand(
            Command::new("keys")
                .about("Print an app's keys (with --rotate, replace them first)")
                .arg(Arg::new("app").required(true))
                .arg(
                    Arg::new("rotate")
                        .long("rotate")
                        .action(ArgAction::SetTrue)
                        .help("New master and client keys; the old ones stop working"),
                ),
        )
        .subcommand(
            Command::new("rename")
                .about("Give an app another name (its application id and data stay)")
                .arg(Arg::new("app").required(true))
                .arg(Arg::new("new-name").required(true)),
        )
        .subcommand(
            Command::new("delete")
                .about("Delete an app and all its data")
                .arg(Arg::new("app").required(true))
                .arg(Arg::new("yes").long("yes").action(ArgAction::SetTrue).help("Confirm the deletion")),
        )
        .subcommand(
            Command::new("export")
                .about("Write an app's archive (schema, objects, relations; files with --files) to a .tar.gz")
                .arg(Arg::new("app").required(true))
                .arg(
                    Arg::new("out")
                        .long("out")
                        .value_name("FILE")
                        .help("Where to write it (default <name>-<date>.tar.gz)"),
                )
                .arg(
                    Arg::new("files")
                        .long("files")
                        .action(ArgAction::SetTrue)
                        .help("Include the app's stored files"),
                ),
        )
        .subcommand(
            Command::new("import")
                .about("Load an archive into an app that holds no data yet (all or nothing)")
                .arg(Arg::new("app").required(true))
                .arg(Arg::new("archive").required(true).value_name("FILE")),
        );
    let files =
        Command::new("files").about("Manage an app's stored files").subcommand_required(true).subcommand(
            Command::new("gc")
                .about("List the stored files no object references (and with --delete, remove them)")
                .arg(Arg::new("app").long("app").value_name("NAME|ID").help("A registry app (of --data-dir)"))
                .arg(
                    Arg::new("config")
                        .long("config")
                        .value_name("FILE")
                        .conflicts_with("app")
                        .help("The parse-server JSON config of a single app, instead of --app"),
                )
                .arg(data_dir.clone())
                .arg(
                    Arg::new("apps-database-uri")
                        .long("apps-database-uri")
                        .value_name("URI")
                        .env("REPARSE_APPS_DATABASE_URI")
                        .help("The PostgreSQL database registry apps keep their data in (as given to serve)"),
                )
                .arg(
                    Arg::new("apps-files-adapter")
                        .long("apps-files-adapter")
                        .value_name("ADAPTER")
                        .env("REPARSE_APPS_FILES_ADAPTER")
                        .help("Where registry apps keep their files (as given to serve)"),
                )
                .arg(
                    Arg::new("min-age")
                        .long("min-age")
                        .value_name("AGE")
                        .default_value("24h")
                        .help("Only files stored at least this long ago (30m, 24h, 7d; 0 for all)"),
                )
                .arg(
                    Arg::new("delete")
                        .long("delete")
                        .action(ArgAction::SetTrue)
                        .help("Delete the files listed (without it, nothing changes)"),
                ),
        );
    let dashboard_user = Command::new("dashboard-user")
        .about("Manage who may sign in to the dashboard")
        .subcommand_required(true)
        .arg(data_dir.clone().global(true))
        .subcommand(
            Command::new("add")
                .about(
                    "Add a dashboard user (the password is read from the first line of stdin unless given)",
                )
                .arg(Arg::new("username").required(true))
                .arg(
                    Arg::new("password")
                        .long("password")
                        .value_name("PASSWORD")
                        .env("REPARSE_DASHBOARD_PASSWORD"),
                )
                .arg(
                    Arg::new("read-only")
                        .long("read-only")
                        .action(ArgAction::SetTrue)
                        .help("May look at every app, change nothing"),
                ),
        )
        .subcommand(Command::new("list").about("List the dashboard users"))
        .subcommand(
            Command::new("remove").about("Remove a dashboard user").arg(Arg::new("username").required(true)),
        );
    Command::new("reparse")
        .about("The Parse Platform in one binary")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .subcommand(serve)
        .subcommand(live_query)
        .subcommand(apps)
        .subcommand(dashboard_user)
        .subcommand(files)
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let result = match matches.subcommand() {
        Some(("serve", args)) => serve(args, Mode::Full),
        Some(("livequery", args)) => serve(args, Mode::LiveQueryOnly),
        Some(("apps", args)) => apps(args),
        Some(("dashboard-user", args)) => dashboard_user(args),
        Some(("files", args)) => match args.subcommand() {
            Some(("gc", gc)) => files_gc(gc),
            _ => Err("unknown files command".to_string()),
        },
        _ => Err("unknown command".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("reparse: {message}");
            ExitCode::FAILURE
        }
    }
}

fn data_dir(args: &ArgMatches) -> PathBuf {
    PathBuf::from(args.get_one::<String>("data-dir").map(String::as_str).unwrap_or("reparse-data"))
}

fn open_registry(args: &ArgMatches) -> Result<Registry, String> {
    Registry::open(&data_dir(args)).map_err(|error| error.to_string())
}

fn print_keys(record: &AppRecord) {
    println!("  name:           {}", record.name);
    println!("  appId:          {}", record.app_id);
    println!("  masterKey:      {}", record.master_key);
    if let Some(key) = &record.javascript_key {
        println!("  javascriptKey:  {key}");
    }
    if let Some(key) = &record.rest_api_key {
        println!("  restAPIKey:     {key}");
    }
    if let Some(key) = &record.client_key {
        println!("  clientKey:      {key}");
    }
}

fn apps(args: &ArgMatches) -> Result<(), String> {
    let registry = open_registry(args)?;
    match args.subcommand() {
        Some(("create", sub)) => {
            let name = sub.get_one::<String>("name").ok_or("a name is required")?;
            let record = registry.create_app(name).map_err(|error| error.to_string())?;
            println!("Created app {:?}:", record.name);
            print_keys(&record);
        }
        Some(("list", _)) => {
            let records = registry.list().map_err(|error| error.to_string())?;
            if records.is_empty() {
                println!("No apps yet: `reparse apps create <name>` adds one.");
            }
            for record in records {
                println!("{}\t{}\t{}", record.name, record.app_id, record.created_at);
            }
        }
        Some(("keys", sub)) => {
            let app = sub.get_one::<String>("app").ok_or("an app is required")?;
            let record = match sub.get_flag("rotate") {
                true => {
                    let record = registry.rotate_keys(app).map_err(|error| error.to_string())?;
                    println!(
                        "New keys for app {:?} (running servers take them within a few seconds):",
                        record.name
                    );
                    record
                }
                false => registry.find_by_name_or_id(app).map_err(|error| error.to_string())?,
            };
            print_keys(&record);
        }
        Some(("rename", sub)) => {
            let app = sub.get_one::<String>("app").ok_or("an app is required")?;
            let new_name = sub.get_one::<String>("new-name").ok_or("a new name is required")?;
            let record = registry.rename(app, new_name).map_err(|error| error.to_string())?;
            println!("Renamed app {app:?} to {:?} ({}).", record.name, record.app_id);
        }
        Some(("delete", sub)) => {
            let app = sub.get_one::<String>("app").ok_or("an app is required")?;
            if !sub.get_flag("yes") {
                return Err(format!(
                    "deleting {app:?} removes all its data; run again with --yes to confirm"
                ));
            }
            let record = registry.find_by_name_or_id(app).map_err(|error| error.to_string())?;
            // The data first: an app whose files or schema cannot be deleted stays in the registry.
            delete_shared_files(args, &registry, &record)?;
            if let Some(AppPlacement::Postgres { schema }) = &record.placement {
                drop_app_schema(args, &record, schema)?;
            }
            let record = registry.delete(&record.app_id).map_err(|error| error.to_string())?;
            println!("Deleted app {:?} ({}).", record.name, record.app_id);
        }
        Some(("export", sub)) => export_app(args, sub)?,
        Some(("import", sub)) => import_app(args, sub)?,
        _ => return Err("unknown apps command".into()),
    }
    Ok(())
}

fn dashboard_user(args: &ArgMatches) -> Result<(), String> {
    let registry = open_registry(args)?;
    match args.subcommand() {
        Some(("add", sub)) => {
            let username = sub.get_one::<String>("username").ok_or("a user name is required")?;
            let password = match sub.get_one::<String>("password") {
                Some(password) => password.clone(),
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(|error| format!("cannot read the password: {error}"))?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let user = registry
                .add_dashboard_user(username, &password, sub.get_flag("read-only"))
                .map_err(|error| error.to_string())?;
            let kind = if user.read_only { "read-only " } else { "" };
            println!("Added {kind}dashboard user {:?}.", user.username);
        }
        Some(("list", _)) => {
            let users = registry.dashboard_users().map_err(|error| error.to_string())?;
            if users.is_empty() {
                println!("No dashboard users yet: `reparse dashboard-user add <name>` adds one.");
            }
            for user in users {
                let access = if user.read_only { "read-only" } else { "read-write" };
                println!("{}\t{access}\t{}", user.username, user.created_at);
            }
        }
        Some(("remove", sub)) => {
            let username = sub.get_one::<String>("username").ok_or("a user name is required")?;
            registry.remove_dashboard_user(username).map_err(|error| error.to_string())?;
            println!("Removed dashboard user {username:?}.");
        }
        _ => return Err("unknown dashboard-user command".into()),
    }
    Ok(())
}

/// Drops the PostgreSQL schema holding a registry app's data.
/// `reparse apps delete`: the app's part of the `--apps-files-adapter` storage, if it has one.
fn delete_shared_files(args: &ArgMatches, registry: &Registry, record: &AppRecord) -> Result<(), String> {
    let apps_files = apps_files_option(args);
    let default_folder = registry.app_dir(&record.app_id).join("files");
    let Some(files) = files_config::app_part_of_shared_files(
        &record.settings,
        apps_files.as_ref(),
        &record.app_id,
        default_folder,
        &environment_variable,
    )?
    else {
        return Ok(());
    };
    let removed = multi_thread_runtime()?.block_on(storage::remove_all_files(&files))?;
    println!("Deleted the app's {removed} files from {}.", files.describe());
    Ok(())
}

/// `--apps-files-adapter`: a JSON adapter object, or its URL form.
fn apps_files_option(args: &ArgMatches) -> Option<serde_json::Value> {
    args.get_one::<String>("apps-files-adapter")
        .map(|text| serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.clone())))
}

fn drop_app_schema(args: &ArgMatches, record: &AppRecord, schema: &str) -> Result<(), String> {
    let Some(uri) = args.get_one::<String>("apps-database-uri") else {
        return Err(format!(
            "app {:?} keeps its data in PostgreSQL schema {schema}: give --apps-database-uri (or \
             REPARSE_APPS_DATABASE_URI) so that it can be dropped; nothing was deleted",
            record.name
        ));
    };
    let options =
        settings::postgres_options(uri, None).map_err(|error| format!("--apps-database-uri: {error}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    runtime.block_on(async {
        let database = storage::connect_postgres(&options).await?;
        let dropped = database
            .drop_schema(schema)
            .await
            .map_err(|error| format!("cannot drop schema {schema}: {}", error.message))?;
        if dropped {
            println!("Dropped PostgreSQL schema {schema} at {}.", options.describe());
        }
        Ok(())
    })
}

type Options = serde_json::Map<String, serde_json::Value>;

/// The first two layers of options: the config file (if any) and the `PARSE_SERVER_*`
/// environment.
fn config_file_and_environment(path: Option<&String>) -> Result<[Options; 2], String> {
    let file = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| format!("cannot read config file {path}: {error}"))?;
            options::from_config_file(&text).map_err(|error| format!("{path}: {error}"))?
        }
        None => Options::new(),
    };
    Ok([file, options::from_environment(std::env::vars())?])
}

fn multi_thread_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))
}

/// Options from the three layers: config file < `PARSE_SERVER_*` environment < flags.
fn serve_options(args: &ArgMatches) -> Result<Options, String> {
    let [file, environment] = config_file_and_environment(args.get_one::<String>("config"))?;
    let flags = options::from_flags(
        options::OPTIONS
            .iter()
            .filter_map(|spec| args.get_one::<String>(spec.flag).map(|value| (spec.flag, value.clone()))),
    )?;
    Ok(options::merge([file, environment, flags]))
}

/// What `serve` serves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Everything: REST, files, LiveQuery, jobs (`reparse serve`).
    Full,
    /// LiveQuery alone, for one app whose writes arrive over Redis (`reparse livequery`): no REST
    /// routes, no job scheduler; its cloud code (LiveQuery hooks) calls the API servers at
    /// `serverURL`.
    LiveQueryOnly,
}

fn serve(args: &ArgMatches, mode: Mode) -> Result<(), String> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{EnvFilter, Layer as _, filter::LevelFilter, fmt};
    let output_filter = EnvFilter::try_from_env("REPARSE_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::registry()
        .with(fmt::layer().with_writer(std::io::stderr).with_filter(output_filter))
        // Each app's own lines, for its logs page and `/scriptlog`, whatever the output shows.
        .with(reparse_server::logs::AppLogLayer.with_filter(LevelFilter::INFO))
        .init();
    let options = serve_options(args)?;
    let settings = ServerSettings::from_options(&options)?;
    let data_dir = data_dir(args);
    multi_thread_runtime()?.block_on(async move {
        let address = format!("{}:{}", settings.host, settings.port);
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|error| format!("cannot listen on {address}: {error}"))?;
        let port = listener.local_addr().map_err(|error| error.to_string())?.port();
        let public_url = settings.public_url(port);
        let cloud_server_url = match mode {
            Mode::Full => cloud_config::internal_server_url(&settings.host, port, &settings.mount_path),
            Mode::LiveQueryOnly => public_url.clone(),
        };
        if mode == Mode::LiveQueryOnly && !options.contains_key("appId") {
            return Err(
                "reparse livequery serves one app: give its config (--config, with appId, masterKey, \
                        serverURL and liveQuery.redisURL)"
                    .into(),
            );
        }

        // The registry and its apps, when this server hosts those (the dashboard manages them).
        let mut hosted: Option<(Arc<Registry>, Arc<RegistryDirectory>)> = None;
        let directory: Arc<dyn AppDirectory> = if options.contains_key("appId") {
            let opened = open_single_app(&options, &data_dir, &public_url).await?;
            println!("Serving app {:?} from {}", opened.app.config.app_id, opened.data);
            println!("Files are kept in {}", opened.files);
            let mut app = opened.app;
            let live_query = &app.config.live_query;
            if mode == Mode::LiveQueryOnly
                && (live_query.class_names.is_empty() || live_query.redis_url.is_none())
            {
                return Err("reparse livequery hears of writes over Redis: give liveQuery.classNames and \
                            liveQuery.redisURL (the same as the API servers')"
                    .into());
            }
            if let Some(cloud) =
                cloud_config::start_cloud(&options, &app.config, &cloud_server_url, &data_dir).await?
            {
                let hooks = cloud.hooks();
                println!(
                    "Cloud code {} loaded: {} functions, {} jobs",
                    options.get("cloud").and_then(|v| v.as_str()).unwrap_or_default(),
                    hooks.functions.len(),
                    hooks.jobs.len()
                );
                app = app.with_cloud(cloud);
            }
            let app = Arc::new(app);
            if app.cloud.is_some() && mode == Mode::Full {
                reparse_server::spawn_job_scheduler(&app, reparse_server::SCHEDULER_TICK);
            }
            reparse_server::live_query::LiveQuery::start(&app);
            Arc::new(StaticDirectory::new(vec![app]))
        } else {
            if let Some(key) = options.keys().find(|key| !settings::SERVER_WIDE.contains(&key.as_str())) {
                return Err(format!(
                    "option {key:?} configures one app: give appId (and masterKey) to serve that app alone, \
                     or leave it out to serve the apps of {}",
                    data_dir.display()
                ));
            }
            let apps_database = match settings::apps_database(&options)? {
                Some(postgres) => {
                    let database = storage::connect_postgres(&postgres).await?;
                    println!(
                        "New apps keep their data in {}, one schema each",
                        storage::describe_postgres(&postgres, &database).await
                    );
                    Some(database)
                }
                None => None,
            };
            let registry = Arc::new(Registry::open(&data_dir).map_err(|error| error.to_string())?);
            let mut records = registry.list().map_err(|error| error.to_string())?;
            if records.is_empty() {
                let record = registry.create_app("default").map_err(|error| error.to_string())?;
                println!("Created the first app under {}:", data_dir.display());
                records.push(record);
            }
            let directory = Arc::new(RegistryDirectory::new(
                registry.clone(),
                public_url.clone(),
                apps_database,
                options.get("appsFilesAdapter").cloned(),
                Some(cloud_server_url),
            ));
            for record in &records {
                let (_, record) = directory.open_app(record).await?;
                println!("App {:?}:", record.name);
                print_keys(&record);
                match &record.placement {
                    Some(AppPlacement::Postgres { schema }) => {
                        println!("  data:           PostgreSQL schema {schema}")
                    }
                    _ => println!(
                        "  data:           {}",
                        registry.app_dir(&record.app_id).join("data.sqlite").display()
                    ),
                }
            }
            hosted = Some((registry, directory.clone()));
            directory
        };

        let router = reparse_server::router(
            directory,
            ServerOptions {
                mount_path: settings.mount_path.clone(),
                max_body_bytes: settings.max_body_bytes,
                live_query_only: mode == Mode::LiveQueryOnly,
            },
        );
        let router = match (hosted, mode) {
            (Some((registry, directory)), Mode::Full) => {
                let dashboard = reparse_dashboard::Dashboard::new(
                    registry,
                    directory.clone(),
                    directory,
                    router,
                    &settings.mount_path,
                    &public_url,
                );
                let base =
                    public_url.strip_suffix(settings.mount_path.trim_end_matches('/')).unwrap_or(&public_url);
                println!(
                    "Dashboard at {base}/dashboard (sign-in users: `reparse dashboard-user add <name>`)"
                );
                reparse_dashboard::router(Arc::new(dashboard))
            }
            _ => reparse_dashboard::single_app_notice(router),
        };
        println!("Reparse is listening on {public_url}");
        reparse_server::serve(listener, router, shutdown_signal())
            .await
            .map_err(|error| format!("server error: {error}"))
    })
}

/// The one app a parse-server config describes, opened: its database and files.
struct OpenedApp {
    app: App,
    /// Where its data is, for messages.
    data: String,
    files: String,
}

async fn open_single_app(
    options: &serde_json::Map<String, serde_json::Value>,
    data_dir: &std::path::Path,
    public_url: &str,
) -> Result<OpenedApp, String> {
    let (config, database) = single_app(options, data_dir, public_url)?;
    let files_backend = files_config::files_backend(
        options,
        settings::default_files_folder(&database, data_dir, &config.app_id),
        &environment_variable,
    )?;
    let (storage, data) = storage::open_storage(&database).await?;
    let files = storage::open_files(&files_backend)?;
    let app = App::new(config, storage)?.with_files(files);
    Ok(OpenedApp { app, data, files: files_backend.describe() })
}

/// A registry app opened as `serve` would open it (without its cloud code), for a command that
/// works on its data: `--apps-database-uri` and `--apps-files-adapter` as given to `serve`.
async fn open_registry_app(args: &ArgMatches, data_dir: &Path, app: &str) -> Result<Arc<App>, String> {
    let registry = Arc::new(Registry::open(data_dir).map_err(|error| error.to_string())?);
    let record = registry.find_by_name_or_id(app).map_err(|error| error.to_string())?;
    let apps_database = match args.get_one::<String>("apps-database-uri") {
        Some(uri) => {
            let options = settings::postgres_options(uri, None)
                .map_err(|error| format!("--apps-database-uri: {error}"))?;
            Some(storage::connect_postgres(&options).await?)
        }
        None => None,
    };
    let directory = RegistryDirectory::new(
        registry,
        "http://localhost".into(),
        apps_database,
        apps_files_option(args),
        None,
    );
    Ok(directory.open_app(&record).await?.0)
}

/// `reparse apps export`: the app's archive, written to a file as it is made.
fn export_app(args: &ArgMatches, sub: &ArgMatches) -> Result<(), String> {
    let app_name = sub.get_one::<String>("app").ok_or("an app is required")?;
    let data_dir = data_dir(args);
    multi_thread_runtime()?.block_on(async move {
        let app = open_registry_app(args, &data_dir, app_name).await?;
        let out = match sub.get_one::<String>("out") {
            Some(path) => PathBuf::from(path),
            None => {
                PathBuf::from(format!("{}-{}.tar.gz", app.config.name, chrono::Utc::now().format("%Y-%m-%d")))
            }
        };
        let options = reparse_archive::ExportOptions { include_files: sub.get_flag("files") };
        let mut archive = reparse_archive::export(app.clone(), options);
        // Written beside the destination and renamed at the end, so a failed export leaves no
        // file that looks whole.
        let partial = out.with_extension("partial");
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(|error| format!("{}: {error}", partial.display()))?;
        let written: Result<u64, String> = async {
            let mut bytes = 0;
            while let Some(chunk) = futures::StreamExt::next(&mut archive).await {
                let chunk = chunk.map_err(|error| format!("the export failed: {error}"))?;
                bytes += chunk.len() as u64;
                tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
                    .await
                    .map_err(|error| error.to_string())?;
            }
            file.sync_all().await.map_err(|error| error.to_string())?;
            Ok(bytes)
        }
        .await;
        let bytes = match written {
            Ok(bytes) => bytes,
            Err(error) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(error);
            }
        };
        tokio::fs::rename(&partial, &out).await.map_err(|error| error.to_string())?;
        println!(
            "Exported app {:?} to {} ({}).",
            app.config.name,
            out.display(),
            files_gc::human_bytes(bytes)
        );
        Ok(())
    })
}

/// `reparse apps import`: an archive into an app without data.
fn import_app(args: &ArgMatches, sub: &ArgMatches) -> Result<(), String> {
    let app_name = sub.get_one::<String>("app").ok_or("an app is required")?;
    let path = sub.get_one::<String>("archive").ok_or("an archive file is required")?;
    let data_dir = data_dir(args);
    multi_thread_runtime()?.block_on(async move {
        let app = open_registry_app(args, &data_dir, app_name).await?;
        let file = tokio::fs::File::open(path).await.map_err(|error| format!("{path}: {error}"))?;
        let summary = reparse_archive::import(&app, file).await.map_err(|error| error.message)?;
        println!(
            "Imported into app {:?}: {} classes, {} objects, {} objects' relations, {} files.",
            app.config.name, summary.classes, summary.objects, summary.relations, summary.files
        );
        Ok(())
    })
}

/// `reparse files gc`: opens the app as `serve` would, sweeps, prints what it found.
fn files_gc(args: &ArgMatches) -> Result<(), String> {
    let min_age = files_gc::parse_age(args.get_one::<String>("min-age").map_or("24h", String::as_str))?;
    let delete = args.get_flag("delete");
    let data_dir = data_dir(args);
    multi_thread_runtime()?.block_on(async move {
        let app = match (args.get_one::<String>("config"), args.get_one::<String>("app")) {
            (Some(path), _) => {
                let options = options::merge(config_file_and_environment(Some(path))?);
                Arc::new(open_single_app(&options, &data_dir, "http://localhost").await?.app)
            }
            (None, Some(app)) => open_registry_app(args, &data_dir, app).await?,
            (None, None) => return Err("name the app: --app <name or id>, or --config <file>".into()),
        };
        let show_progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let sweep = files_gc::find_orphans(&app, min_age, show_progress).await?;
        for info in &sweep.orphans {
            println!("{}\t{}", info.name, info.length);
        }
        println!(
            "{} of {} stored files ({}) are referenced by no object of the {} read{}",
            sweep.orphans.len(),
            sweep.stored,
            files_gc::human_bytes(sweep.orphan_bytes()),
            sweep.objects,
            match sweep.too_recent {
                0 => String::new(),
                recent => format!("; {recent} newer unreferenced files were left out (--min-age)"),
            }
        );
        if delete {
            let files = app.files.as_ref().ok_or("this app has no file storage")?;
            let deleted = files_gc::delete_orphans(files.as_ref(), &sweep.orphans, show_progress).await?;
            println!("Deleted {deleted} files.");
        } else if !sweep.orphans.is_empty() {
            println!("Nothing was deleted: run again with --delete to remove them.");
        }
        Ok(())
    })
}

fn environment_variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before exit.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
