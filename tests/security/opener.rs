//! Every `-o`, bundle and metrics file goes through one opener: a planted
//! symbolic link is replaced, never followed; a FIFO, device or socket at the
//! target is refused; what is written is mode 0600.
