use clap::Parser;

fn main() -> std::process::ExitCode {
    match varco::cli::run(varco::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("varco: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
