//! `reparse`: the Parse Platform in one binary.
//!
//! `reparse serve` runs the server (zero-config: SQLite under `./reparse-data`, an app created
//! and its keys printed on first start); `reparse apps …` manages the hosted apps.

mod directory;
mod options;
mod settings;
mod storage;

use std::path::PathBuf;
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
    let apps = Command::new("apps")
        .about("Manage the apps this installation hosts")
        .subcommand_required(true)
        .arg(data_dir.global(true))
        .arg(
            Arg::new("apps-database-uri")
                .long("apps-database-uri")
                .value_name("URI")
                .env("REPARSE_APPS_DATABASE_URI")
                .global(true)
                .help("The PostgreSQL database apps keep their data in (needed to delete such an app)"),
        )
        .subcommand(
            Command::new("create")
                .about("Add an app and print its keys")
                .arg(Arg::new("name").required(true)),
        )
        .subcommand(Command::new("list").about("List the apps"))
        .subcommand(Command::new("keys").about("Print an app's keys").arg(Arg::new("app").required(true)))
        .subcommand(
            Command::new("delete")
                .about("Delete an app and all its data")
                .arg(Arg::new("app").required(true))
                .arg(Arg::new("yes").long("yes").action(ArgAction::SetTrue).help("Confirm the deletion")),
        );
    Command::new("reparse")
        .about("The Parse Platform in one binary")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .subcommand(serve)
        .subcommand(apps)
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let result = match matches.subcommand() {
        Some(("serve", args)) => serve(args),
        Some(("apps", args)) => apps(args),
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
            print_keys(&registry.find_by_name_or_id(app).map_err(|error| error.to_string())?);
        }
        Some(("delete", sub)) => {
            let app = sub.get_one::<String>("app").ok_or("an app is required")?;
            if !sub.get_flag("yes") {
                return Err(format!(
                    "deleting {app:?} removes all its data; run again with --yes to confirm"
                ));
            }
            let record = registry.find_by_name_or_id(app).map_err(|error| error.to_string())?;
            // The data first: an app whose schema cannot be dropped stays in the registry.
            if let Some(AppPlacement::Postgres { schema }) = &record.placement {
                drop_app_schema(args, &record, schema)?;
            }
            let record = registry.delete(&record.app_id).map_err(|error| error.to_string())?;
            println!("Deleted app {:?} ({}).", record.name, record.app_id);
        }
        _ => return Err("unknown apps command".into()),
    }
    Ok(())
}

/// Drops the PostgreSQL schema holding a registry app's data.
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

/// Options from the three layers: config file < `PARSE_SERVER_*` environment < flags.
fn serve_options(args: &ArgMatches) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let file = match args.get_one::<String>("config") {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| format!("cannot read config file {path}: {error}"))?;
            options::from_config_file(&text).map_err(|error| format!("{path}: {error}"))?
        }
        None => serde_json::Map::new(),
    };
    let environment = options::from_environment(std::env::vars())?;
    let flags = options::from_flags(
        options::OPTIONS
            .iter()
            .filter_map(|spec| args.get_one::<String>(spec.flag).map(|value| (spec.flag, value.clone()))),
    )?;
    Ok(options::merge([file, environment, flags]))
}

fn serve(args: &ArgMatches) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REPARSE_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = serve_options(args)?;
    let settings = ServerSettings::from_options(&options)?;
    let data_dir = data_dir(args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    runtime.block_on(async move {
        let address = format!("{}:{}", settings.host, settings.port);
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|error| format!("cannot listen on {address}: {error}"))?;
        let port = listener.local_addr().map_err(|error| error.to_string())?.port();
        let public_url = settings.public_url(port);

        let directory: Arc<dyn AppDirectory> = if options.contains_key("appId") {
            let (config, database) = single_app(&options, &data_dir, &public_url)?;
            let files_folder = settings::files_folder(
                &options,
                settings::default_files_folder(&database, &data_dir, &config.app_id),
            )?;
            let (storage, described) = storage::open_storage(&database).await?;
            println!("Serving app {:?} from {described}", config.app_id);
            let files = storage::open_files(&files_folder)?;
            println!("Files are kept in {}", files_folder.display());
            Arc::new(StaticDirectory::new(vec![Arc::new(App::new(config, storage)?.with_files(files))]))
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
            let directory = RegistryDirectory::new(registry.clone(), public_url.clone(), apps_database);
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
            Arc::new(directory)
        };

        let router = reparse_server::router(
            directory,
            ServerOptions {
                mount_path: settings.mount_path.clone(),
                max_body_bytes: settings.max_body_bytes,
            },
        );
        println!("Reparse is listening on {public_url}");
        reparse_server::serve(listener, router, shutdown_signal())
            .await
            .map_err(|error| format!("server error: {error}"))
    })
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
