// index.ts - a WAGI function: CGI headers on stdout, a blank line, then the body.
process.stdout.write("Content-Type: text/plain\n\n");
process.stdout.write("Hello from AssemblyScript!\n");
