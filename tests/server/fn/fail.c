/* fail.c - test function that exits with status 3. */
#include <stdio.h>

int main(void)
{
    printf("Content-Type: text/plain\n\npartial");
    return 3;
}
