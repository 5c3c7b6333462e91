//! Moving in and out: CSV imports (API and command line), imports from another server
//! speaking the Leal API, exports, and the progress the command line shows.

mod csv;
mod export;
mod leal;
