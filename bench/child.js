// Shared by the server children: tell the parent the port, and leave cleanly when told to or orphaned.

/** Sends {port} to the parent once the server listens. */
export function reportWhenListening(server) {
  server.once('listening', () => process.send?.({ port: server.address().port }));
}

// process.exit (not a signal's default action) so that --cpu-prof can write its profile
const leave = () => process.exit(0);
process.on('SIGTERM', leave);
process.on('SIGINT', leave);
process.on('disconnect', leave); // the parent died or closed the channel
