// The type of the file the site serves here: uplot/dist/uPlot.esm.js, mapped from node_modules (lib/dashboard-files.ts).
import uPlot from 'uplot';
export default uPlot;
