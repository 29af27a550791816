//! Simulated instruments and the physical world they observe.
pub mod diode;
pub mod world;
pub mod device;
pub mod keithley;
pub mod keysight;
pub mod hioki;
