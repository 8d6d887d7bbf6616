// Route tests read response bodies as loosely typed JSON; their assertions do the checking.
interface Response {
  json(): Promise<any>;
}
