use clap::Parser;

// glibc's allocator serialises threads on its arenas under load; mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match varco::cli::run(varco::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("varco: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
