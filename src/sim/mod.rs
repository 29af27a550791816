//! Simulated instruments and the physical world they observe.
pub mod device;
pub mod diode;
pub mod faults;
pub mod fluke;
pub mod hioki;
pub mod keithley;
pub mod keysight;
pub mod modbus;
pub mod server;
pub mod sky;
pub mod spectrl2;
pub mod station;
pub mod switch;
pub mod world;
