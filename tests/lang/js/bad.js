let x = 1;
function handle(r) {
  return (;
}
